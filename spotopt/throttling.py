"""Rate limits: DRF throttling for the APIs, and a login attempt limiter.

The login limiter runs from LoginThrottleMiddleware on every view named
"login" (the admin's and the dashboard's).

Both count in fixed windows in the cache (shared through Redis when scaled
out). A fixed window costs two cache operations per request, where DRF's
sliding history would store and rewrite a list of every request's time on
each call; agents poll every few seconds, so that cost matters.
"""

import logging
import pickle
import time
from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.http import HttpResponse
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from spotopt.cache import ThreadScript

logger = logging.getLogger(__name__)

# The WSGI environ key under which the agent hot path leaves the rate limit's
# answer for a call it counted and let through (agents.hotpath).
RATE_WAIT = "spotopt.agent_rate_wait"
# Count hits in the window's key (none: read it), then read the other keys:
# one round trip.
_HIT_AND_READ = ThreadScript("""
local hits = tonumber(ARGV[2])
if hits > 0 then
  hits = redis.call('incrby', KEYS[1], ARGV[2])
  if hits == tonumber(ARGV[2]) then redis.call('expire', KEYS[1], ARGV[1]) end
end
if #KEYS == 1 then return {hits, {}} end
return {hits, redis.call('mget', unpack(KEYS, 2))}
""")
# The share of a limit each process lets through per window before it
# counts in the shared cache (process_allowance).
PROCESS_ALLOWANCE_DIVISOR = 20
_process_windows: dict[str, tuple[int, int]] = {}
_PROCESS_WINDOWS_MAX = 200_000

_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60): requests allowed per window of seconds."""
    count, period = rate.split("/")
    return int(count), _PERIOD_SECONDS[period.strip()[0].lower()]


def window_hit(
    *, key: str, limit: int, window_seconds: int, now: float | None = None
) -> int:
    """Count one hit in the current window; return seconds to wait, or 0."""
    wait, _values = window_hit_reading(
        key=key, limit=limit, window_seconds=window_seconds, now=now
    )
    return wait


def window_hit_reading(
    *,
    key: str,
    limit: int,
    window_seconds: int,
    read_keys: Sequence[str] = (),
    now: float | None = None,
    hits: int = 1,
) -> tuple[int, dict]:
    """window_hit() that also reads other cache keys in the same round trip.

    The idle poll needs its rate count and the queue's idle marker; on Redis
    both travel in one script call. `hits` is how many calls to count;
    with 0 the keys are only read and the call is let through. With the
    cache down, the hit is let through and nothing is read: a rate limiter
    that fails closed would take the fleet down with the cache.
    """
    now = time.time() if now is None else now
    window = int(now // window_seconds)
    cache_key = f"rate:{key}:{window}"
    try:
        counted, values = _count(cache_key, window_seconds + 1, list(read_keys), hits)
    except Exception as error:
        # One line per request while the cache is down, not a traceback.
        logger.warning("Rate limiter unavailable: %r", error)
        return 0, {}
    if not hits or counted <= limit:
        return 0, values
    return max(1, int((window + 1) * window_seconds - now) + 1), values


def process_allowance(limit: int) -> int:
    """How many calls of one key a process lets through per window without
    counting them in the shared cache: a twentieth of the limit.

    The agent hot path counts in this process's memory first, so an agent
    polling as agents do never costs a cache round trip for its count; a
    key past the allowance is counted in the shared cache from then on,
    the calls before it included. Across N processes a key can so pass
    the limit by at most N allowances.
    """
    return max(1, limit // PROCESS_ALLOWANCE_DIVISOR)


def process_window_hit(key: str, window_seconds: int, now: float | None = None):
    """Count one hit of the key in this process's current window; return
    the window's count so far."""
    # Two threads counting one key at once may lose a hit: harmless here.
    window = int((time.time() if now is None else now) // window_seconds)
    seen_window, hits = _process_windows.get(key, (window, 0))
    hits = hits + 1 if seen_window == window else 1
    if len(_process_windows) >= _PROCESS_WINDOWS_MAX:
        _process_windows.clear()
    _process_windows[key] = (window, hits)
    return hits


def process_windows_clear() -> None:
    _process_windows.clear()


def _count(
    cache_key: str, timeout: int, read_keys: list[str], hits: int
) -> tuple[int, dict]:
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # One round trip instead of the three of add() and incr() and the
        # get_many() of the keys to read: this runs on every agent call.
        counted, read = _HIT_AND_READ(
            backend,
            [backend.make_key(key) for key in (cache_key, *read_keys)],
            [timeout, hits],
        )
        values = {
            key: _cached_value(value)
            for key, value in zip(read_keys, read, strict=True)
            if value is not None
        }
        return counted, values

    values = cache.get_many(read_keys) if read_keys else {}
    if not hits:
        return 0, values
    try:
        cache.add(cache_key, 0, timeout=timeout)
        return cache.incr(cache_key, hits), values
    except ValueError:
        # The key expired between add and incr: this is a new window.
        cache.set(cache_key, hits, timeout=timeout)
        return hits, values


def _cached_value(raw: bytes):
    """A value as Django's Redis serializer stored it: an int as its digits,
    anything else pickled. Told apart by the pickle's first byte, where the
    serializer tries int() first and pays for the exception on every
    tuple (an idle marker on every poll)."""
    if raw[:1] == b"\x80":
        return pickle.loads(raw)
    return int(raw)


class ApiRateThrottle(BaseThrottle):
    """One throttle for every API view, keyed by who is calling what.

    - an agent endpoint (a path with an agent id): per client and agent, so
      one busy fleet never starves another agent of the same client;
    - another token call: per client; a session user: per user;
    - anything else: per address.
    Rates come from REST_FRAMEWORK's DEFAULT_THROTTLE_RATES at call time.
    """

    def allow_request(self, request, view):
        counted = getattr(request, "agent_rate_wait", None)
        if counted is None:
            counted = request.META.get(RATE_WAIT)
        if counted is not None:
            # The agent hot path counted this call before letting it through.
            self._wait = counted
            return counted == 0
        scope, ident = self._scope_and_ident(request, view)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if not rate:
            return True

        limit, window = rate_parse(rate)
        self._wait = window_hit(
            key=f"{scope}:{ident}", limit=limit, window_seconds=window
        )
        return self._wait == 0

    def wait(self):
        return getattr(self, "_wait", None)

    def _scope_and_ident(self, request, view) -> tuple[str, str]:
        user = getattr(request, "user", None)
        client = getattr(user, "client", None)
        if client is not None:
            agent_id = str(getattr(view, "kwargs", {}).get("agent_id", ""))
            if agent_id:
                # The path is the caller's text: only a real id goes in a key.
                agent_key = agent_id if _is_id(agent_id) else "malformed"
                return "agent", f"{client.pk}:{agent_key}"
            if request.path.endswith("/register"):
                return "agent", f"{client.pk}:register:{self.get_ident(request)}"
            return "client", str(client.pk)
        if user is not None and getattr(user, "is_authenticated", False):
            return "user", str(user.pk)
        return "anon", self.get_ident(request)


def _is_id(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


def login_refusal(request) -> HttpResponse | None:
    """A 429 for a login POST from an address over LOGIN_RATE, else None.

    Every POST counts, successful or not: the limit is far above what a
    person typing needs and far below what guessing needs.
    """
    if request.method != "POST":
        return None

    wait = _login_wait(request)
    if not wait:
        return None
    logger.warning("Login attempts from %s throttled", _client_address(request))
    response = HttpResponse(
        "Too many login attempts. Try again later.",
        status=429,
        content_type="text/plain",
    )
    response["Retry-After"] = str(wait)
    return response


def _login_wait(request) -> int:
    limit, window = rate_parse(settings.LOGIN_RATE)
    return window_hit(
        key=f"login:{_client_address(request)}", limit=limit, window_seconds=window
    )


def _client_address(request) -> str:
    # DRF's reading honours NUM_PROXIES, like the API throttle does.
    return BaseThrottle().get_ident(request) or "unknown"
