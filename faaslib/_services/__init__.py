"""The services that drive Lambda, in-process: each a store that code and tests use directly
(``Queue``, ``Stream``, ``Table``, ``Bucket``, ``Topic``) and the triggers that run a function
from it (a mapping that polls, a pump that pushes, a schedule).

A trigger says how it runs (``Trigger.runner``): adding a service is adding its modules here
and re-exporting its public names from ``faaslib``; the invoker does not change.
"""
