"""Looking into the real broker: a message is found while queued or held unacknowledged by a worker."""

import time
import uuid

import pytest
from django.conf import settings

from captions import tasks
from captions.services import broker
from hashtagapp.celery import app
from tests.integration.worker import purge_queues


@pytest.fixture
def empty_queues():
    purge_queues()
    yield
    purge_queues()


def test_a_queued_message_is_seen_until_a_worker_acknowledges_it(empty_queues):
    message_id = uuid.uuid4().hex
    assert message_id not in broker.broker_message_ids()
    tasks.generation_run_source.apply_async(args=("tagger", [1]), task_id=message_id, retry=False)
    assert message_id in broker.broker_message_ids()
    assert broker.broker_queue_depth(queue="vision") in (1, None)
    with app.connection_for_read() as connection:
        queue = app.amqp.queues["vision"].bind(connection.default_channel)
        message = None
        for _ in range(50):
            message = queue.get(no_ack=False)
            if message is not None:
                break
        assert message is not None and message.headers["id"] == message_id
        # Delivered, not yet acknowledged: still the broker's, so not lost.
        if settings.CELERY_BROKER_URL.startswith("redis"):
            assert message_id in broker.broker_message_ids()
            assert message_id in broker.broker_message_ids(held_within=60)
            time.sleep(1.1)
            # Held unstarted for longer than a live worker ever holds one: its worker is gone.
            assert message_id not in broker.broker_message_ids(held_within=1)
        message.ack()
    assert message_id not in broker.broker_message_ids()
