"""The upload and search page: a client of the inbox, never a second pipeline.

An uploaded file is written under a hidden ``.part`` name in the inbox's ``.spoolbridge/uploads/`` (tus
1.0.0, so a cut upload resumes from the last byte the server has) and linked into its dataset's folder
when complete; from then on the producer treats it exactly like a dropped file. Modules, one job each:

- :mod:`.names`: which file and dataset names an upload may use;
- :mod:`.uploads`: the uploads on disk (create, offset, append, complete, expire), no HTTP;
- :mod:`.tus`: the tus protocol over :mod:`.uploads`;
- :mod:`.catalog`: the datasets and what OpenSearch holds for each (count, mapping);
- :mod:`.conflicts`: reading a mapping: a preview's fields it would refuse, fields a facet can use;
- :mod:`.lookups`: the JSON look-ups (name check, datasets, conflicts, search, facet fields);
- :mod:`.progress` and :mod:`.dead_letters`: one file's numbers from the pipeline's own records;
- :mod:`.live`: those numbers as server-sent events, and the file's reports as downloads;
- :mod:`.search`: the search request and its answer;
- :mod:`.guard`: who may call (host, token, cross-site requests);
- :mod:`.app`: the whole app; :mod:`.server`: binding rules and uvicorn;
- ``static/``: the page (plain HTML, CSS and JavaScript modules, no build step).
"""
