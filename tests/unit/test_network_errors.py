"""Network failures named in a few words: real failures on loopback, and the chains they wrap."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
import requests
import urllib3

from bridge.network_errors import describe_transport_error, failed_before_sending
from bridge.simulator import SERVER_CERT, SERVER_KEY
from tests.support.mqtt import free_port
from tests.support.network_failures import connection_error, refused


def failure(url: str, **kwargs) -> requests.RequestException:
    """What requests raises for `url` (which must fail)."""
    with pytest.raises(requests.RequestException) as err:
        requests.get(url, timeout=kwargs.pop("timeout", 5), **kwargs)
    return err.value


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback socket that accepts connections (the kernel's backlog) and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


@pytest.fixture
def tls_server() -> Iterator[int]:
    """A loopback TLS server with the simulator's certificate, whose CA the client is not given."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(SERVER_CERT, SERVER_KEY)
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(5)

    def serve_one() -> None:
        try:
            conn, _ = sock.accept()
            with context.wrap_socket(conn, server_side=True):
                pass
        except OSError:
            pass  # the client gave up on the handshake: that is the point

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    thread.join(6)
    sock.close()


def test_a_closed_port_is_connection_refused():
    assert describe_transport_error(failure(f"http://127.0.0.1:{free_port()}/")) == "connection refused"


def test_a_server_that_never_answers_is_timed_out(listener):
    port = listener.getsockname()[1]
    assert describe_transport_error(failure(f"http://127.0.0.1:{port}/", timeout=0.3)) == "timed out"


def test_an_unknown_certificate_is_a_tls_error_that_says_verification_failed(tls_server):
    described = describe_transport_error(failure(f"https://127.0.0.1:{tls_server}/"))
    assert described.startswith("TLS error: certificate verification failed ("), described


def test_plain_http_where_tls_was_expected_is_a_tls_error(listener):
    port = listener.getsockname()[1]

    def answer_plain_text() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    thread = threading.Thread(target=answer_plain_text, daemon=True)
    thread.start()
    described = describe_transport_error(failure(f"https://127.0.0.1:{port}/"))
    thread.join(5)
    reason = described.removeprefix("TLS error: ")
    assert reason != described and reason == reason.lower()
    assert "_" not in reason  # OpenSSL's reason codes read as words


@pytest.mark.parametrize(
    "exc, described",
    [
        (refused("/info"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "name resolution failed"),
        (
            connection_error(urllib3.exceptions.NameResolutionError("envoy.test", None, OSError("x"))),
            "name resolution failed",
        ),
        (OSError("Temporary failure in name resolution"), "name resolution failed"),
        (requests.exceptions.ConnectTimeout(), "connect timed out"),
        (requests.exceptions.ReadTimeout(), "timed out"),
        (TimeoutError(), "timed out"),
        (connection_error(ConnectionResetError(104, "Connection reset by peer")), "connection reset"),
        (urllib3.exceptions.ProtocolError("Connection aborted."), "connection broken"),
        (requests.exceptions.ChunkedEncodingError(), "connection broken"),
        (requests.exceptions.ConnectionError(), "connection failed"),
        (OSError(), "connection failed"),
    ],
)
def test_causes_are_named(exc, described):
    assert describe_transport_error(exc) == described


def test_the_cause_is_found_through_raise_from_and_context():
    wrapper = RuntimeError("wrapper")
    wrapper.__cause__ = ConnectionRefusedError(111, "nope")  # raise RuntimeError(...) from err
    assert describe_transport_error(wrapper) == "connection refused"
    while_handling = ValueError("raised while handling another")
    while_handling.__context__ = ConnectionResetError(104, "reset")
    assert describe_transport_error(while_handling) == "connection reset"


def test_ssl_reasons_read_as_lower_case_words_and_are_capped():
    err = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    err.reason = "WRONG_VERSION_NUMBER"
    assert describe_transport_error(err) == "TLS error: wrong version number"
    long = ssl.SSLError(1, "x" * 500)
    assert len(describe_transport_error(long)) <= len("TLS error: ") + 120


def test_a_message_never_quotes_more_than_its_few_words():
    secret = "GET /installer/setup/home?token=eyJsecret Authorization: Bearer eyJsecret"
    described = describe_transport_error(connection_error(ConnectionRefusedError(111, secret)))
    assert described == "connection refused"


def test_a_cycle_of_causes_ends():
    first, second = OSError("a"), OSError("b")
    first.__cause__, second.__cause__ = second, first
    assert describe_transport_error(first) == "connection failed"


def test_only_a_failure_to_connect_means_nothing_was_sent(listener):
    port = free_port()
    assert failed_before_sending(failure(f"http://127.0.0.1:{port}/"))  # refused, for real
    assert failed_before_sending(requests.exceptions.ConnectTimeout("connect"))
    assert not failed_before_sending(failure(f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout=0.2))
    assert not failed_before_sending(requests.exceptions.ChunkedEncodingError("broken"))
