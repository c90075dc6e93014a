"""The rules of profile values, without a database."""

import pytest

from services.accounts.accounts import is_http_url


@pytest.mark.parametrize(
    "url",
    ["https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132", "http://example.org/a.png", "https://[::1]:8443/a"],
)
def test_http_urls_are_accepted(url):
    assert is_http_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.org/a.png",
        "javascript:alert(1)",
        "ftp://example.org/a",
        "https://",
        "https://a b/c",
        "data:,x",
    ],
)
def test_other_values_are_not_avatar_urls(url):
    assert not is_http_url(url)
