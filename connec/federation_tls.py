"""Certificates for Synapse's own TLS federation listener (test and demo profile).

Homeservers only federate over TLS, and check the other side's certificate. A
deployment on one machine has no public certificate, so `connec init` makes a small
certificate authority of its own and a certificate for ``localhost`` signed by it.
The other homeserver trusts this deployment by listing its ``ca.crt`` in
``synapse.federation_trusted_cas`` (Synapse's ``federation_custom_ca_list``):
certificates are always checked, never switched off. The CA's private key is
thrown away once it has signed, so nothing else can ever be signed with it.

Production does not use this: there the reverse proxy holds a real certificate
(docs/production.md).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from connec.secrets import write_private
from connec.settings import Settings

VALID_DAYS = 3650
HOSTNAME = "localhost"


@dataclass(frozen=True)
class FederationTls:
    """Where one deployment keeps its federation certificate and key."""

    folder: Path

    @property
    def ca_certificate(self) -> Path:
        """Give this to the other homeserver: it trusts what this CA signed."""
        return self.folder / "ca.crt"

    @property
    def certificate(self) -> Path:
        return self.folder / "federation.crt"

    @property
    def private_key(self) -> Path:
        return self.folder / "federation.key"

    def exists(self) -> bool:
        return all(p.exists() for p in (self.ca_certificate, self.certificate, self.private_key))


def federation_tls(settings: Settings) -> FederationTls:
    return FederationTls(settings.paths.synapse / "tls")


def ensure_federation_tls(settings: Settings) -> FederationTls | None:
    """Make the CA and the listener's certificate once, when Synapse has its own TLS
    federation listener; None when it has none. Running again changes nothing."""
    if settings.synapse.federation_port is None:
        return None
    tls = federation_tls(settings)
    if tls.exists():
        return tls
    settings.paths.synapse.mkdir(mode=0o700, parents=True, exist_ok=True)
    tls.folder.mkdir(mode=0o700, exist_ok=True)
    ca_pem, cert_pem, key_pem = make_certificates(settings.synapse.server_name)
    tls.ca_certificate.write_bytes(ca_pem)
    tls.ca_certificate.chmod(0o644)  # public: handed to the other homeserver
    tls.certificate.write_bytes(cert_pem)
    write_private(tls.private_key, key_pem.decode())
    return tls


def make_certificates(server_name: str) -> tuple[bytes, bytes, bytes]:
    """A fresh CA certificate, and a certificate and key for ``localhost`` it signed (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    not_before, not_after = now - datetime.timedelta(hours=1), now + datetime.timedelta(VALID_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"connec CA {server_name}")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTNAME)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(HOSTNAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key_pem,
    )
