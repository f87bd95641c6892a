"""The demo: the simulated gateway, a broker when none answers, and the bridge, in one command.

`command` wires them and runs until Ctrl-C, `view` is the live terminal view, and `broker` is
the embedded MQTT broker used when nothing listens on the chosen address.

May import anything in `bridge`: it is an application of the package, like the CLI.
"""
