"""What sits around the API: health checking, reflection, TLS, the command line."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import subprocess
import sys
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from labelwire.client.raw import AdminClient
from labelwire.server.transport.app import start_server
from tests.conftest import ADMIN_KEY, Harness


async def test_health_and_reflection_need_no_token(server: Harness) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        serving = await health.Check(health_pb2.HealthCheckRequest(service="labelwire.v1.JobService"))
    assert serving.status == health_pb2.HealthCheckResponse.SERVING

    def listed() -> list[str]:
        with grpc.insecure_channel(server.target) as sync_channel:
            return list(ProtoReflectionDescriptorDatabase(sync_channel).get_services())

    services = await asyncio.to_thread(listed)
    assert {"labelwire.v1.JobService", "labelwire.v1.WorkerService", "labelwire.v1.LabelService"} <= set(
        services
    )


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_tls_is_on_when_a_certificate_is_given(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    running = await start_server(
        address="127.0.0.1:0",
        database=str(tmp_path / "tls.db"),
        admin_key=ADMIN_KEY,
        tls_cert=cert,
        tls_key=key,
    )
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with AdminClient(f"localhost:{running.port}", ADMIN_KEY, credentials=credentials) as admin:
            assert (await admin.create_api_key("tls-client")).startswith("lwc_")
        async with AdminClient(f"127.0.0.1:{running.port}", ADMIN_KEY) as plaintext:
            try:
                await plaintext.create_api_key("x")
                raise AssertionError("a plaintext call to a TLS server must fail")
            except grpc.aio.AioRpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await running.stop(grace=None)


def test_serve_help_documents_every_flag_and_its_environment_variable() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "labelwire.server.cli.main", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for flag, env in [
        ("--address", "LABELWIRE_ADDRESS"),
        ("--http-address", "LABELWIRE_HTTP_ADDRESS"),
        ("--http-cors-origin", "LABELWIRE_HTTP_CORS_ORIGINS"),
        ("--database", "LABELWIRE_DATABASE"),
        ("--tls-cert", "LABELWIRE_TLS_CERT"),
        ("--tls-key", "LABELWIRE_TLS_KEY"),
        ("--admin-key", "LABELWIRE_ADMIN_KEY"),
        ("--max-streams-per-client", "LABELWIRE_MAX_STREAMS_PER_CLIENT"),
    ]:
        assert flag in out and env in out
