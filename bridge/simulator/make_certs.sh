#!/bin/sh
# Regenerates the simulator's PUBLIC TEST certificates (ca.pem, server.pem, server-key.pem,
# impostor.pem, impostor-key.pem). These private keys are published on purpose: they only
# secure the loopback simulator and must never protect anything real.
# Usage: sh bridge/simulator/make_certs.sh   (needs the openssl CLI; run from anywhere)
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Valid from 2000 to 2126: tests must pass on machines whose clock is behind or far ahead.
start=20000101000000Z
end=21260101000000Z

touch "$tmp/index.txt"
cat >"$tmp/ca.cnf" <<CNF
[ca]
default_ca = sim
[sim]
database = $tmp/index.txt
new_certs_dir = $tmp
serial = $tmp/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
echo 1000 >"$tmp/serial"

key() {  # a P-256 key in PKCS#8 PEM
    openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out "$1"
}
csr() {  # key, common name, output
    openssl req -new -config "$tmp/ca.cnf" -key "$1" -subj "/CN=$2" -out "$3"
}
sign() {  # csr, extension section, output, extra args
    in=$1; ext=$2; out=$3; shift 3
    openssl ca -batch -config "$tmp/ca.cnf" -notext -startdate $start -enddate $end \
        -extensions "$ext" -in "$in" -out "$out" "$@"
}

key "$tmp/ca-key.pem"
csr "$tmp/ca-key.pem" "envoy-mqtt-bridge simulator test CA (public)" "$tmp/ca.csr"
sign "$tmp/ca.csr" v3_ca ca.pem -selfsign -keyfile "$tmp/ca-key.pem"

key server-key.pem
csr server-key.pem "127.0.0.1" "$tmp/server.csr"
sign "$tmp/server.csr" v3_leaf server.pem -cert ca.pem -keyfile "$tmp/ca-key.pem"

# The impostor is self-signed by its own key: same names, unrelated to the CA above.
key impostor-key.pem
csr impostor-key.pem "127.0.0.1" "$tmp/impostor.csr"
sign "$tmp/impostor.csr" v3_leaf impostor.pem -selfsign -keyfile impostor-key.pem
# The CA key is thrown away: nothing can ever be signed by this CA again.
