"""The libcurl transport of WeChat Pay calls: answer headers, and failures to reach the gateway."""

import socket

import pytest

from payments.curl_transport import CurlTransport, TransportError, _headers


def test_headers_of_the_final_answer_only_and_case_insensitive():
    raw = (
        b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nWechatpay-Serial: 5157F09EFDC096DE15EBE81A47057A72\r\nContent-Type: application/json\r\n\r\n"
    )
    headers = _headers(raw)
    assert "X-Interim" not in headers
    assert headers["wechatpay-serial"] == "5157F09EFDC096DE15EBE81A47057A72"
    assert headers["Content-Type"] == "application/json"


def test_an_unreachable_gateway_is_a_transport_error():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = CurlTransport(f"http://127.0.0.1:{port}", timeout_s=1)
    with pytest.raises(TransportError):
        transport.request("GET", "/v3/certificates", None, {"Accept": "application/json"})
