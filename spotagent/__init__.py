"""The SpotOpt reference agent.

It runs beside one customer workload, speaks the wire protocol of the SpotOpt
server and acts on the cloud with boto3. `python -m spotagent --help` starts
it; docs/AGENT.md explains the settings and the life of a command.
"""

__version__ = "1.0.0"
