"""TLS that means the same on every driver: verified by default, never silently plaintext.

``ssl_mode`` takes the values MySQL's and libpq's clients use:

============== ===================================================================
disabled       no TLS
preferred      TLS when the server offers it, plaintext otherwise; not verified
required       TLS or refuse (:class:`InsecureTransportError`); certificate not verified
verify_ca      TLS, the chain must lead to ``ssl_ca`` (or the system bundle)
verify_identity as ``verify_ca``, and the certificate must name the host dialled
============== ===================================================================

Defaults: ``verify_identity`` for any host that is not loopback as written
(``localhost``, ``127.0.0.0/8``, ``::1``; no DNS lookup decides); ``verify_identity`` when
``ssl_ca`` is given without a mode; ``disabled`` on loopback without TLS settings.  Without
``ssl_ca`` the verifying modes use the system CA bundle (Debian, RHEL, macOS paths, then
certifi), which is what TiDB Cloud's public certificates chain to.  TLS 1.2 is the minimum.

:func:`resolve` turns settings into a :class:`TLSConfig` (raising
:class:`ConfigurationError` for a missing or unreadable CA file before any connection);
each backend's driver module turns a ``TLSConfig`` into its driver's keyword arguments;
:func:`translate_connect_error` turns driver failures into errors that say which check
failed.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from .errors import ConfigurationError, InsecureTransportError

if TYPE_CHECKING:
    from .settings import DatabaseSettings

__all__ = [
    "SYSTEM_CA_BUNDLES",
    "TLSConfig",
    "TLSStatus",
    "find_system_ca_bundle",
    "is_loopback_host",
    "resolve",
    "translate_connect_error",
]

SYSTEM_CA_BUNDLES: Final = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora, CentOS
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, BSDs
)
"""Where operating systems keep their CA bundle, in the order they are tried."""

Check = Literal["no_tls", "unknown_ca", "hostname_mismatch", "expired", "handshake"]

# OpenSSL X509_V_ERR_* codes reported by ssl.SSLCertVerificationError.verify_code
_UNKNOWN_CA_CODES: Final = frozenset({2, 18, 19, 20, 21, 27, 28})
_HOSTNAME_CODES: Final = frozenset({62, 64})
_EXPIRED_CODES: Final = frozenset({9, 10})


def is_loopback_host(host: str | None) -> bool:
    """True for no host (a local socket or file), ``localhost``, 127.0.0.0/8 and ::1,
    judged from the text only: no DNS lookup."""
    if host is None or host == "":
        return True
    text = host.strip().strip("[]").lower()
    if text == "localhost" or text.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def find_system_ca_bundle() -> str:
    """The first CA bundle that exists: OpenSSL's default file, the OS paths, certifi."""
    default = ssl.get_default_verify_paths().cafile
    for candidate in (default, *SYSTEM_CA_BUNDLES):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.R_OK):
            return candidate
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi is a dependency
        raise ConfigurationError(
            "ssl_ca", "no system CA bundle found and certifi is not installed; set ssl_ca to a CA file"
        ) from None
    return str(certifi.where())


@dataclass(frozen=True)
class TLSConfig:
    """The resolved TLS decision for one database."""

    mode: str
    """One of :data:`tidb_compat.settings.SSL_MODES`."""
    ca_file: str | None
    """The CA file used to verify the chain (``None`` when nothing is verified)."""
    ca_source: str
    """Where the CA came from, for messages: the setting name, ``system bundle`` or ``-``."""
    host: str | None
    """The host name the certificate must name (``verify_identity``)."""

    @property
    def enabled(self) -> bool:
        return self.mode != "disabled"

    @property
    def required(self) -> bool:
        """TLS or nothing: the connection is refused if the server offers no TLS."""
        return self.mode in ("required", "verify_ca", "verify_identity")

    @property
    def verify_chain(self) -> bool:
        return self.mode in ("verify_ca", "verify_identity")

    @property
    def verify_hostname(self) -> bool:
        return self.mode == "verify_identity"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context: TLS 1.2+, verification as the mode says."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.verify_chain:
            assert self.ca_file is not None
            context.load_verify_locations(cafile=self.ca_file)
            context.check_hostname = self.verify_hostname
            context.verify_mode = ssl.CERT_REQUIRED
        else:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _check_ca_file(path: str, setting: str) -> str:
    expanded = os.path.expanduser(path)
    file = Path(expanded)
    if not file.exists():
        raise ConfigurationError(setting, f"CA file {path!r} does not exist")
    if not file.is_file():
        raise ConfigurationError(setting, f"CA file {path!r} is not a file")
    try:
        with file.open("rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise ConfigurationError(setting, f"CA file {path!r} cannot be read: {exc.strerror}") from None
    try:
        ssl.create_default_context(cafile=expanded)
    except (ssl.SSLError, ValueError):
        kind = "is empty" if not head.strip() else "holds no PEM certificate"
        raise ConfigurationError(setting, f"CA file {path!r} {kind}") from None
    return expanded


def resolve(settings: DatabaseSettings) -> TLSConfig:
    """The TLS decision for ``settings`` (see the module docstring for the defaults)."""
    mode_setting = settings.source_of("ssl_mode")
    ca_setting = settings.source_of("ssl_ca")
    if settings.family == "sqlite":
        if settings.ssl_mode not in (None, "disabled") or settings.ssl_ca:
            raise ConfigurationError(mode_setting, "SQLite is an embedded file: there is no transport to secure")
        return TLSConfig("disabled", None, "-", None)
    mode = settings.ssl_mode
    if mode is None:
        if settings.ssl_ca:
            mode = "verify_identity"
        elif is_loopback_host(settings.host):
            mode = "disabled"
        else:
            mode = "verify_identity"
    if settings.ssl_ca and mode not in ("verify_ca", "verify_identity"):
        raise ConfigurationError(
            ca_setting,
            f"a CA file is given but ssl_mode={mode} does not verify certificates; "
            "use ssl_mode=verify_ca or verify_identity (or drop the CA)",
        )
    if mode in ("verify_ca", "verify_identity"):
        if settings.ssl_ca:
            return TLSConfig(mode, _check_ca_file(settings.ssl_ca, ca_setting), ca_setting, settings.host)
        return TLSConfig(mode, find_system_ca_bundle(), "system CA bundle", settings.host)
    return TLSConfig(mode, None, "-", settings.host)


@dataclass(frozen=True)
class TLSStatus:
    """What a live connection negotiated (for ``tidb-compat check``)."""

    version: str | None
    cipher: str | None
    chain_verified: bool
    hostname_verified: bool

    @property
    def encrypted(self) -> bool:
        return self.version is not None


def _verification_error(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (InsecureTransportError, ssl.SSLError)):
            return current
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                stack.append(arg)
    return None


def _classify_message(text: str) -> Check | None:
    lowered = text.lower()
    if "hostname mismatch" in lowered or "ip address mismatch" in lowered or "doesn't match" in lowered:
        return "hostname_mismatch"
    if "unable to get local issuer" in lowered or "self-signed certificate" in lowered or (
        "self signed certificate" in lowered
    ) or "unknown ca" in lowered:
        return "unknown_ca"
    if "certificate has expired" in lowered:
        return "expired"
    if "ssl is required but the server doesn't support it" in lowered or "server does not support ssl" in lowered:
        return "no_tls"
    return None


def translate_connect_error(exc: BaseException, tls: TLSConfig, where: str) -> InsecureTransportError | None:
    """An :class:`InsecureTransportError` saying which TLS check failed, or ``None`` when
    ``exc`` is not a TLS failure.  ``where`` names the server (``host:port``)."""
    if not tls.enabled:
        return None
    found = _verification_error(exc)
    if isinstance(found, InsecureTransportError):
        return found
    check: Check | None = None
    detail = ""
    if isinstance(found, ssl.SSLCertVerificationError):
        code = found.verify_code
        detail = found.verify_message or str(found)
        if code in _HOSTNAME_CODES:
            check = "hostname_mismatch"
        elif code in _UNKNOWN_CA_CODES:
            check = "unknown_ca"
        elif code in _EXPIRED_CODES:
            check = "expired"
        else:
            check = _classify_message(detail) or "handshake"
    elif isinstance(found, ssl.SSLError):
        detail = found.reason or str(found)
        check = _classify_message(str(found)) or "handshake"
    else:
        check = _classify_message(str(exc))
        detail = str(exc)
        if check is None:
            return None
    return insecure_transport(check, tls, where, detail)


def insecure_transport(check: Check, tls: TLSConfig, where: str, detail: str = "") -> InsecureTransportError:
    """The error for a failed TLS check, with a message a person can act on."""
    messages = {
        "no_tls": f"{where} does not offer TLS, and ssl_mode={tls.mode} requires it; "
        "no credentials were sent",
        "unknown_ca": f"the certificate of {where} does not chain to a trusted CA "
        f"(CA from {tls.ca_source}: {tls.ca_file}); set ssl_ca to the CA that signed it",
        "hostname_mismatch": f"the certificate of {where} does not name the host {tls.host!r} "
        "(ssl_mode=verify_identity); connect with the name in the certificate or use verify_ca",
        "expired": f"the certificate of {where} has expired or is not yet valid",
        "handshake": f"the TLS handshake with {where} failed",
    }
    message = messages[check]
    if detail and check in ("handshake", "expired"):
        message = f"{message}: {detail}"
    return InsecureTransportError(message, check)
