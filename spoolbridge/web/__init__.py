"""The upload and search page: a client of the inbox, never a second pipeline.

An uploaded file is written under a hidden ``.part`` name inside its dataset's folder (tus 1.0.0, so a cut
upload resumes from the last byte the server has) and renamed into place when complete; from then on the
producer treats it exactly like a dropped file. Modules, one job each:

- :mod:`.names`: which file and dataset names an upload may use;
- :mod:`.uploads`: the uploads on disk (create, offset, append, complete), no HTTP;
- :mod:`.tus`: the tus protocol over :mod:`.uploads`;
- :mod:`.guard`: who may call (host, token, cross-site requests);
- :mod:`.app`: the routes; :mod:`.server`: binding rules and uvicorn.
"""
