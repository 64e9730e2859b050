"""The REST API (version 1): Django REST framework views over the same services and
selectors as the pages. See docs/architecture.md, section "API"."""
