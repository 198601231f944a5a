"""Several workers on few cores: each worker's encoder threads are its share of the cores."""

from bot.config import Settings
from channels.workers import worker_threads


def test_each_worker_gets_its_share_of_the_cores_at_most_the_setting() -> None:
    assert worker_threads(Settings(threads=2, workers=2), cores=2) == 1
    assert worker_threads(Settings(threads=2, workers=4), cores=2) == 1
    assert worker_threads(Settings(threads=2, workers=2), cores=8) == 2  # the setting is the most
    assert worker_threads(Settings(threads=4, workers=2), cores=8) == 4
    assert worker_threads(Settings(threads=1, workers=1), cores=2) == 1
