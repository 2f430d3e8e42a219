"""The settings page at ``/admin``: server-rendered pages whose script calls the admin API with the session."""
