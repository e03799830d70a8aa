"""Writes that Django's model signals do not announce: `QuerySet.update`, `bulk_update` and
`bulk_create` send no `post_save`. A model whose changes something must hear of (a cache that
has to drop what it kept) uses `ChangeSignallingQuerySet`, which sends `rows_changed` after
each of them; `save()` and `delete()` keep sending Django's own signals.

Receivers get `sender` (the model) and `fields` (the names written, empty for a bulk_create).
"""

from django.db import models
from django.dispatch import Signal

rows_changed = Signal()


class ChangeSignallingQuerySet(models.QuerySet):
    def update(self, **kwargs):
        count = super().update(**kwargs)
        rows_changed.send(sender=self.model, fields=frozenset(kwargs))
        return count

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        if created:
            rows_changed.send(sender=self.model, fields=frozenset())
        return created

    bulk_create.alters_data = True
    # bulk_update writes through update() (one per batch): announced there.
