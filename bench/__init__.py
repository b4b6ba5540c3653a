"""`make bench` (`python -m bench`): measure the running system and print a short report.

Every number is measured in the run that prints it: real API and worker processes against a
private redis-server, SQLite (and PostgreSQL when reachable), compared with arq on the same
redis-server. The report is also written as JSON to var/bench/latest.json.
"""
