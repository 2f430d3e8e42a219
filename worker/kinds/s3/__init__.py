"""S3 destinations: one JSON object per trace, or periodic batch files (README: Destinations)."""

from worker.kinds.base import Kind
from worker.kinds.s3.config import S3Config, S3Destination
from worker.kinds.s3.conntest import connection_test
from worker.kinds.s3.writer import S3Writer

KIND = Kind(name="s3", config=S3Config, destination=S3Destination, connection_test=connection_test,
            writer=S3Writer)
