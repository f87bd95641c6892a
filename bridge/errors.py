"""One error tree for the whole bridge: every error it raises on purpose is defined here.

Foreign errors (requests, urllib3, paho, OSError) are wrapped at the edge where they happen,
into the class that says what the caller should do: retry soon, back off, tell the user.
Messages never carry a token, password, cookie or session id.
"""

from __future__ import annotations

from collections.abc import Iterable


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """Invalid configuration: startup only, exit code 2.

    `problems` lists every bad key as "path: reason", so the user fixes them all at once.
    """

    def __init__(self, problems: str | Iterable[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


# --- authentication ------------------------------------------------------------------------


class AuthError(BridgeError):
    """No usable credentials: the token is unusable, missing, or cannot be had."""


class TokenRejected(AuthError):
    """A token failed an offline check (bridge/auth/tokens.py): never kept, sent or cached.

    `check` names the check (format, header, payload, aud, iss, exp, enphaseUser); the message
    says what is wrong and never quotes the token.
    """

    def __init__(self, check: str, reason: str):
        self.check = check
        super().__init__(f"{reason} (offline check: {check})")


class EnvoyAuthError(AuthError):
    """The gateway answered 401/403: new session first, then a token renewal."""


class CloudError(AuthError):
    """The Enphase cloud gave no token: refused or unreachable (catch both with this)."""


class CloudAuthError(CloudError):
    """Enlighten/Entrez refused (bad password, MFA, odd reply): slow retry, clear message."""


class CloudMFARequired(CloudAuthError):
    """The account has multi-factor authentication on: no login from a program; paste a token."""


class CloudUnavailable(CloudError):
    """The Enphase cloud could not be reached (DNS, TLS, timeout, 5xx): keep the old token, try later."""


class CloudTransient(CloudUnavailable):
    """Worth another quick try: connection failure, timeout or 5xx."""


# --- the gateway ---------------------------------------------------------------------------


class EnvoyError(BridgeError):
    """Talking to the gateway failed."""


class EnvoyUnavailable(EnvoyError):
    """DNS, connect, timeout, 5xx: retried with backoff."""


class EnvoyTransient(EnvoyUnavailable):
    """Worth another try within the retry budget: connection failure, timeout, 502/503/504."""


class EnvoyHTTPError(EnvoyError):
    """The gateway answered an unexpected HTTP status (a 4xx other than 401/403/404, or a 5xx)."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


class EnvoyNotFound(EnvoyError):
    """The gateway does not have this endpoint (404 and friends): the endpoint is absent, not broken."""


class TLSPinError(EnvoyError):
    """Certificate fingerprint mismatch: loud, never retried fast."""


class EnvoyDataError(EnvoyError):
    """Bad JSON, missing or wrong-typed field, implausible value."""


class EnvoyPoorDataQuality(EnvoyDataError):
    """The gateway answered, but with data known to be bogus (firmware 3.x all zeros at boot)."""


class EnvoyErrorDocument(EnvoyDataError):
    """A 200 answer whose body is the gateway's `{"error": ...}` document: the endpoint is absent."""


class CommandRefused(BridgeError):
    """A control command refused before the gateway saw it (bad value, no such hardware, too
    soon, not for this token): its text is the error on the result topic, one sentence."""


# --- the Enphase cloud API v4 (bridge/cloudapi) --------------------------------------------


class CloudApiError(BridgeError):
    """The Enlighten Systems API v4 gave no answer worth using: the local side carries on."""


class CloudApiAuthExpired(CloudApiError):
    """The owner's consent is gone (refresh token expired, rotated away or revoked, code used):
    nothing works until `envoy-mqtt-bridge cloud authorize` is run again."""


class CloudApiKeyRefused(CloudApiError):
    """The API key or the client id/secret was refused (401/403 about them): the cloud source
    stops until the configuration is fixed; retrying would only burn the month's quota."""


class CloudApiQuota(CloudApiError):
    """The request budget (or Enphase's 429) says no call now: `retry_at` is when one may go."""

    def __init__(self, message: str, retry_at: float):
        self.retry_at = retry_at
        super().__init__(message)


class CloudApiNotInPlan(CloudApiError):
    """403 on one endpoint: the application's plan does not include it (device-level data on the
    free Watt plan). That endpoint is not asked again; the others go on."""


class CloudApiUnavailable(CloudApiError):
    """The API could not be reached or failed (DNS, TLS, timeout, 5xx): try at the next turn."""


class CloudApiDataError(CloudApiError):
    """An answer that is not the JSON document expected: dropped with one log line."""


class CloudApiNotFound(CloudApiError):
    """404: no such system (a retired gateway's serial, a wrong `system_id`)."""


class RequestRefused(BridgeError):
    """A request on `{base}/bridge/request/<verb>` refused before anything happened (bad JSON,
    unknown verb or gateway, too soon): its text is the error of the response, one sentence."""

    def __init__(self, message: str, transaction: str | int | None = None) -> None:
        super().__init__(message)
        self.transaction = transaction
