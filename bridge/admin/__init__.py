"""The bridge's own topics: requests and their responses, `bridge/info` and `bridge/health`.

The rooms: `requests` reads a request (`{base}/bridge/request/<verb>`, a JSON body) and shapes
its response; `verbs` checks each verb's body and runs it (a gateway's work as a job on its
worker's thread); `mqtt` subscribes, ignores retained requests and answers on
`{base}/bridge/response/<verb>`; `info` keeps the retained `bridge/info` document up to date;
`health` builds the `bridge/health` snapshot (requests per gateway and endpoint, the token,
MQTT) and publishes it every minute.

May import: `bridge.config`, `bridge.errors`, `bridge.identifiers`, `bridge.model`,
`bridge.redaction`, `bridge.sinks`, the gateway's worker and client, the health monitor
(`bridge.health`) and the publisher. Only `app` wires it.
"""
