"""RQ's settings for `rq worker` and `rq cron` (`--config worker.rq_config`): the Redis the web service
uses, read from the same environment, directly (`REDIS_URL`) or through Sentinel (`REDIS_SENTINELS`)."""

from config import load_settings
from services.kernel.redis_store import rq_connection_settings

_connection = rq_connection_settings(load_settings())
REDIS_URL = _connection["REDIS_URL"]
SENTINEL = _connection["SENTINEL"]
