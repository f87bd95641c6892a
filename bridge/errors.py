"""One error tree for the whole bridge; transport errors are wrapped at the edge."""


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """Invalid configuration: startup only, exit code 2.

    `problems` lists every bad key as "path: reason", so the user fixes them all at once.
    """

    def __init__(self, problems):
        self.problems = list(problems) if not isinstance(problems, str) else [problems]
        super().__init__("; ".join(self.problems))


class AuthError(BridgeError):
    """Authentication failed somewhere."""


class EnvoyAuthError(AuthError):
    """The Envoy answered 401/403: new session first, then a token renewal."""


class CloudAuthError(AuthError):
    """Enlighten/Entrez refused (bad password, MFA, no session_id): slow retry, clear message."""


class EnvoyError(BridgeError):
    """Talking to the Envoy failed."""


class EnvoyUnavailable(EnvoyError):
    """DNS, connect, timeout, 5xx: retried with backoff."""


class EnvoyDataError(EnvoyError):
    """Bad JSON, missing or wrong-typed field, implausible value."""


class EnvoyNotFound(EnvoyError):
    """The gateway does not have this endpoint (404 and friends): the endpoint is absent, not broken."""


class TLSPinError(EnvoyError):
    """Certificate fingerprint mismatch: loud, never retried fast."""


class PublishError(BridgeError):
    """MQTT publish could not be queued."""


class CloudUnavailable(CloudAuthError):
    """The Enphase cloud could not be reached (DNS, TLS, timeout, 5xx): keep the old token, try later."""
