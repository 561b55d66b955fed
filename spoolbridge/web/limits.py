"""What a dataset's index and topic allow, for the page's warnings before sending (pure).

- **Fields**: OpenSearch refuses a document that would take its index over
  ``index.mapping.total_fields.limit`` (1000 unless the index body says otherwise) mapped fields; every
  object, every leaf and every multi-field (a text field's ``.keyword``) counts, metadata fields do not.
- **Record size**: the producer rejects a record larger than ``producer.max_message_bytes`` less the
  message's own overhead (:data:`producer.publisher.RECORD_OVERHEAD_BYTES`); a topic whose own
  ``max.message.bytes`` is smaller lowers the bound further, which the producer learns when it reads the
  file (the page does not ask Kafka).
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_FIELD_LIMIT", "field_limit", "mapped_field_count"]

DEFAULT_FIELD_LIMIT = 1000
_LIMIT = "index.mapping.total_fields.limit"


def mapped_field_count(properties: dict[str, Any]) -> int:
    """The fields a mapping's ``properties`` hold, counted as the total-fields limit counts them."""
    count = 0
    for spec in properties.values():
        if not isinstance(spec, dict):
            continue
        count += 1 + len(spec.get("fields") or {})
        children = spec.get("properties")
        if isinstance(children, dict):
            count += mapped_field_count(children)
    return count


def field_limit(flat_settings: dict[str, Any]) -> int:
    """The total-fields limit in an index's flat settings (``{"index.mapping.total_fields.limit": "5"}``),
    or OpenSearch's default when they do not set it (or set it to something that is not a number)."""
    value = str(flat_settings.get(_LIMIT, DEFAULT_FIELD_LIMIT))
    return int(value) if value.isascii() and value.isdigit() else DEFAULT_FIELD_LIMIT
