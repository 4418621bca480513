"""Synapse's own TLS federation listener (test and demo profile): certificates made by
`connec init`, the other server's CA trusted, loopback allowed only in that profile."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtensionOID
from pydantic import ValidationError

from connec.federation_tls import ensure_federation_tls, federation_tls
from connec.private_files import readable_by_others
from connec.secrets import Secrets
from connec.settings import Settings, load_settings
from connec.synapse_config import render_synapse_config


def demo_settings(data_dir: Path, port: int = 8448, **synapse: Any) -> Settings:
    return load_settings(
        data_dir,
        synapse={
            "server_name": f"localhost:{port}",
            "federation_port": port,
            "federation_on_loopback": True,
            "federation_allowlist": ["localhost:8449"],
            **synapse,
        },
    )


def rendered(settings: Settings) -> dict[str, Any]:
    ensure_federation_tls(settings)
    render_synapse_config(settings, Secrets.generate())
    loaded: dict[str, Any] = yaml.safe_load(settings.paths.homeserver_yaml.read_text())
    return loaded


def test_init_makes_a_ca_and_a_localhost_certificate_it_signed(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    tls = ensure_federation_tls(settings)
    assert tls is not None and tls.exists()
    ca = x509.load_pem_x509_certificate(tls.ca_certificate.read_bytes())
    cert = x509.load_pem_x509_certificate(tls.certificate.read_bytes())
    cert.verify_directly_issued_by(ca)  # raises if the CA did not sign it
    names = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert "localhost" in names.value.get_values_for_type(x509.DNSName)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    # The key is private; nothing could sign with the CA again (its key is gone).
    assert not readable_by_others(settings)
    assert oct(tls.private_key.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tls.folder.iterdir()) == [
        "ca.crt",
        "federation.crt",
        "federation.key",
    ]


def test_running_init_again_keeps_the_certificates(tmp_path: Path) -> None:
    settings = demo_settings(tmp_path)
    first = ensure_federation_tls(settings)
    assert first is not None
    before = first.certificate.read_bytes()
    ensure_federation_tls(settings)
    assert first.certificate.read_bytes() == before


def test_the_tls_listener_serves_federation_and_trusts_the_other_servers_ca(
    tmp_path: Path,
) -> None:
    other = demo_settings(tmp_path / "org", 8449)
    ensure_federation_tls(other)
    other_ca = federation_tls(other).ca_certificate
    settings = demo_settings(tmp_path / "kommune", federation_trusted_cas=[other_ca])
    config = rendered(settings)

    [tls_listener] = [listener for listener in config["listeners"] if listener.get("tls")]
    assert tls_listener["port"] == 8448
    assert tls_listener["bind_addresses"] == ["127.0.0.1"]
    assert tls_listener["resources"][0]["names"] == ["federation"]
    client = config["listeners"][0]
    assert "federation" not in client["resources"][0]["names"]  # plain HTTP never federates
    assert config["tls_certificate_path"] == str(federation_tls(settings).certificate)
    assert config["federation_custom_ca_list"] == [str(other_ca)]
    assert config.get("federation_verify_certificates", True) is True
    assert config["federation_domain_whitelist"] == ["localhost:8449"]
    assert config["trusted_key_servers"] == []
    assert config["ip_range_whitelist"] == ["127.0.0.0/8"]

    # Synapse itself reads it: the certificate, the key and the other server's CA load.
    from synapse.config.tls import TlsConfig

    server = SimpleNamespace(has_tls_listener=lambda: True)
    tls = TlsConfig(SimpleNamespace(server=server))  # type: ignore[arg-type]
    tls.read_config(config, config_dir_path=str(tmp_path))
    tls.read_certificate_from_disk()
    assert tls.federation_ca_trust_root is not None
    assert tls.federation_verify_certificates is True


def test_production_federates_through_the_proxy_with_synapses_own_limits(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        synapse={
            "server_name": "kommune.dk",
            "public_url": "https://matrix.kommune.dk",
            "federation_allowlist": ["frivillig.dk"],
        },
    )
    config = rendered(settings)
    assert not any(listener.get("tls") for listener in config["listeners"])
    assert "federation" in config["listeners"][0]["resources"][0]["names"]
    for loopback_only in ("ip_range_whitelist", "rc_federation", "federation_custom_ca_list"):
        assert loopback_only not in config
    assert not (settings.paths.synapse / "tls").exists()


def test_the_loopback_profile_is_refused_in_production_and_explained() -> None:
    with pytest.raises(ValidationError, match="reverse proxy"):
        load_settings(
            "/nonexistent",
            synapse={
                "server_name": "localhost:8448",
                "federation_port": 8448,
                "federation_on_loopback": True,
                "public_url": "https://matrix.kommune.dk",
            },
        )
    with pytest.raises(ValidationError, match='server_name = "localhost:8448"'):
        load_settings(
            "/nonexistent",
            synapse={
                "server_name": "127.0.0.1:8448",
                "federation_port": 8448,
                "federation_on_loopback": True,
            },
        )
    with pytest.raises(ValidationError, match="federation_port"):
        load_settings("/nonexistent", synapse={"federation_on_loopback": True})
