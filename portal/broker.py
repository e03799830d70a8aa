"""kombu's filesystem transport with each message written whole before it enters the queue folder.

kombu creates a message file under its final name and only then writes it, without a lock the
reader honours (kombu #1551): a worker that lists the folder between the two moves the empty file
away, fails to decode it and stops ("Unrecoverable error: JSONDecodeError"), and the message is
lost. Here the message is written to a hidden file in the same folder, which the reader skips,
and renamed to its final name once complete; a rename within one folder is atomic.

Used when CELERY_BROKER_URL is `filesystem://` (settings: CELERY_BROKER_TRANSPORT).
"""

import os
import uuid

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`: complete under a hidden name, then renamed into place."""
        name = f"{int(round(filesystem.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
