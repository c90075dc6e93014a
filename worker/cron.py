"""The RQ cron configuration: `rq cron worker/cron.py --url $REDIS_URL` enqueues the periodic jobs."""

from rq import cron

from worker.schedule import QUEUE, SCHEDULE, resolve

for job in SCHEDULE:
    cron.register(resolve(job.task), queue_name=QUEUE, interval=job.interval_s, name=job.name)
