"""Fetching a web page or feed as a careful client: http(s) only, no private addresses unless allowed,
timeouts, a size cap, redirects followed (each hop checked) to a limit, and conditional GET.

Nothing here runs a page's scripts: the bytes go to parsers (feedparser, trafilatura) only. Every
failure is a FetchError saying what went wrong with which address and what to do.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from qa.errors import FetchError

USER_AGENT = "xinwen-qa/0.1 (news question answering; feed reader; +https://github.com/xinwen-qa)"
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may do. `allow_private`: addresses in private, loopback and link-local ranges
    (the operator's own network); a page served beyond 127.0.0.1 refuses them unless allowed."""

    allow_private: bool = True
    timeout: float = 15.0  # seconds to connect, and between bytes received
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """A response: its final address (after redirects), status (200, or 304 when unchanged), body and validators."""

    url: str
    status: int
    content: bytes
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def check_url(url: str, policy: FetchPolicy) -> str:
    """The URL stripped, when it is one this policy may fetch; else FetchError saying why."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url or '(empty)'}: only http:// and https:// addresses can be fetched",
                         zh=f"“{url or '（空）'}”不是网址：请填写以 http:// 或 https:// 开头的地址。")
    if not policy.allow_private:
        for address in _addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)):
            if not address.is_global:
                raise FetchError(
                    f"{url}: {parts.hostname} is a private or local address ({address}); the server refuses those "
                    "unless started with --allow-private-urls",
                    zh=f"{parts.hostname} 是内网或本机地址，服务器不抓取这类地址（启动时加 --allow-private-urls 可允许）。")
    return url


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"{host}: the address cannot be found ({error}): check the URL",
                         zh=f"找不到 {host}：请检查网址是否正确。") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def fetch(url: str, policy: FetchPolicy = FetchPolicy(), etag: str = "", last_modified: str = "") -> Fetched:
    """GET `url` under `policy`; with a validator from the last fetch, an unchanged resource is a 304
    with no body. Redirects are followed by hand so that each address is checked."""
    import httpx

    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    seen: list[str] = []
    current = check_url(url, policy)
    with httpx.Client(timeout=policy.timeout, follow_redirects=False, trust_env=False) as client:
        while True:
            seen.append(current)
            try:
                with client.stream("GET", current, headers=headers) as response:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        target = urljoin(current, response.headers["location"])
                    else:
                        return _received(current, response, policy)
            except httpx.TimeoutException:
                raise FetchError(f"{current}: no answer within {policy.timeout:g} s: try again later",
                                 zh="网站在限定时间内没有响应：请稍后再试。") from None
            except httpx.HTTPError as error:
                raise FetchError(f"{current}: cannot be fetched ({type(error).__name__}: {error})",
                                 zh="网页无法获取：请检查网址，或稍后再试。") from None
            if target in seen:
                raise FetchError(f"{url}: redirects in a loop ({' → '.join(seen + [target])})",
                                 zh="网址的跳转形成了循环：请检查网址。")
            if len(seen) > policy.max_redirects:
                raise FetchError(f"{url}: more than {policy.max_redirects} redirects",
                                 zh=f"网址跳转超过 {policy.max_redirects} 次：请检查网址。")
            current = check_url(target, policy)


def _received(url: str, response, policy: FetchPolicy) -> Fetched:
    validators = dict(etag=response.headers.get("etag", ""), last_modified=response.headers.get("last-modified", ""))
    if response.status_code == 304:
        return Fetched(url, 304, b"", response.headers.get("content-type", ""), **validators)
    if response.status_code != 200:
        reason = response.reason_phrase or "error"
        raise FetchError(f"{url}: the server answered {response.status_code} {reason}",
                         zh=f"网站返回错误 {response.status_code}：请检查网址，或稍后再试。")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(url, policy)
    body = bytearray()
    for piece in response.iter_bytes():
        body.extend(piece)
        if len(body) > policy.max_bytes:
            raise _too_large(url, policy)
    return Fetched(url, 200, bytes(body), response.headers.get("content-type", ""), **validators)


def _too_large(url: str, policy: FetchPolicy) -> FetchError:
    limit = policy.max_bytes / 1024 / 1024
    return FetchError(f"{url}: the response is over the {limit:g} MB limit; not a news page or feed?",
                      zh=f"网页超过 {limit:g} MB 的上限，不像新闻网页或订阅源。")
