"""API views: thin, like the pages' views. They parse input with the pages' forms,
call the same services and selectors, and answer with serializers or problem details."""
