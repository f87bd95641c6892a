"""Checks of the `cloud_api` section (the Enlighten Systems API v4): all or none of the three
credentials, a known mode and grant, limits of at least one call (its URLs: validate.py's
check_cloud_urls). Like validate.py, each check appends "key.path: reason" and goes on;
no problem ever quotes a secret."""

from __future__ import annotations

from bridge.config.schema import CLOUD_API_GRANTS, CLOUD_API_MODES, CloudApiConfig

CREDENTIALS = ("api_key", "client_id", "client_secret")
CLOUD_API_URL_KEYS = ("api_url", "oauth_url")  # checked by validate.py's check_cloud_urls


def check_cloud_api(api: CloudApiConfig, problems: list[str]) -> None:
    missing = [key for key in CREDENTIALS if not getattr(api, key)]
    if api.enabled and missing:
        problems.append(
            f"cloud_api.{', cloud_api.'.join(missing)}: the API needs all three of api_key, client_id and "
            "client_secret (your application's keys at https://developer-v4.enphase.com)"
        )
    if api.mode not in CLOUD_API_MODES:
        problems.append(f"cloud_api.mode: must be one of {', '.join(CLOUD_API_MODES)}")
    elif api.mode == "only" and not api.enabled:
        problems.append(
            "cloud_api.mode: only reads everything from the cloud API: set api_key, client_id and client_secret"
        )
    if api.grant not in CLOUD_API_GRANTS:
        problems.append(f"cloud_api.grant: must be one of {', '.join(CLOUD_API_GRANTS)}")
    elif api.grant == "password" and not (api.username and api.password):
        problems.append("cloud_api.username, cloud_api.password: the password grant needs both")
    problems.extend(
        f"cloud_api.{key}: at least 1 call (your plan's limit)"
        for key in ("per_minute", "per_month")
        if getattr(api, key) < 1
    )
    if api.per_month < api.per_minute:
        problems.append("cloud_api.per_month: at least per_minute")
    if api.timeout <= 0:
        problems.append("cloud_api.timeout: more than 0 seconds")
    if "\n" in api.redirect_uri or not api.redirect_uri.startswith(("https://", "http://")):
        problems.append("cloud_api.redirect_uri: expected the https:// URL registered for your application")
