"""Document filters: each module registers one or more ``Filter`` steps (see ``refinedweb.registry``).

Every filter writes its signals to ``doc.metadata[step name]`` and returns a short, stable snake_case drop reason
(``gopher_quality_min_words``); with ``annotate_only: true`` it records the reason it would have used under
``would_drop`` and keeps the document.
"""
