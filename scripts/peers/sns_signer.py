"""A local SNS signer, the peer of the ingest stage's SNS signature verification.

  sns_signer.py setup DIR     a CA, a loopback HTTPS server certificate it signs, and an SNS
                              signing key with its certificate (DIR/public/signing.pem)
  sns_signer.py serve DIR     serve DIR/public over HTTPS on a free loopback port (written to
                              DIR/port), logging each request path to DIR/requests.log
  sns_signer.py sign DIR V    read SNS messages (a JSON list) on stdin, sign each as AWS does for
                              SignatureVersion V (1: SHA1withRSA, 2: SHA256withRSA), print them

The string to sign follows AWS's documentation ("Verifying the signatures of Amazon SNS
messages"), written here independently of the Swift code it judges.
"""
import base64
import datetime
import http.server
import ipaddress
import json
import os
import ssl
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

NOTIFICATION = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def certificate(subject_key, name, issuer_key=None, issuer_name=None, ca=False, ip=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name or name)]))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
    return builder.sign(issuer_key or subject_key, hashes.SHA256())


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def setup(directory):
    os.makedirs(os.path.join(directory, "public"), exist_ok=True)
    pem = serialization.Encoding.PEM
    private = dict(encoding=pem, format=serialization.PrivateFormat.PKCS8,
                   encryption_algorithm=serialization.NoEncryption())
    ca_key, server_key, signing_key = key(), key(), key()
    ca = certificate(ca_key, "local test CA", ca=True)
    server = certificate(server_key, "127.0.0.1", ca_key, "local test CA", ip="127.0.0.1")
    signing = certificate(signing_key, "sns.local.test", ca_key, "local test CA")
    write(os.path.join(directory, "ca.pem"), ca.public_bytes(pem))
    write(os.path.join(directory, "server.pem"), server.public_bytes(pem))
    write(os.path.join(directory, "server.key"), server_key.private_bytes(**private))
    write(os.path.join(directory, "signing.key"), signing_key.private_bytes(**private))
    write(os.path.join(directory, "public", "signing.pem"), signing.public_bytes(pem))
    # Another key's certificate: a message signed by signing.key does not verify against it.
    write(os.path.join(directory, "public", "other.pem"), certificate(key(), "other", ca_key, "local test CA")
          .public_bytes(pem))


def serve(directory):
    log = open(os.path.join(directory, "requests.log"), "a", buffering=1)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=os.path.join(directory, "public"), **kwargs)

        def do_GET(self):
            log.write(self.path + "\n")
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    write(os.path.join(directory, "port.tmp"), str(server.server_address[1]).encode())
    os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
    server.serve_forever()


def sign(directory, version):
    with open(os.path.join(directory, "signing.key"), "rb") as f:
        signing_key = serialization.load_pem_private_key(f.read(), password=None)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signed = []
    for message in json.load(sys.stdin):
        fields = NOTIFICATION if message["Type"] == "Notification" else CONFIRMATION
        text = "".join(f"{name}\n{message[name]}\n" for name in fields if name in message)
        signature = signing_key.sign(text.encode("utf-8"), padding.PKCS1v15(), digest)
        signed.append(dict(message, SignatureVersion=version, Signature=base64.b64encode(signature).decode()))
    json.dump(signed, sys.stdout)


if __name__ == "__main__":
    command, directory = sys.argv[1], sys.argv[2]
    if command == "setup":
        setup(directory)
    elif command == "serve":
        serve(directory)
    elif command == "sign":
        sign(directory, sys.argv[3])
    else:
        sys.exit(f"unknown command {command}")
