"""The services that drive Lambda, in-process, one module each: ``sqs``, ``kinesis``,
``dynamodb``, ``s3``, ``sns``, ``schedule``, ``http`` with its ``http_events``, ``eventbridge``,
``firehose``, ``cloudwatch_logs`` with its ``log_patterns``, ``cognito``, ``iot`` with its
``iot_sql``, and ``cloudformation`` (custom resources). Each holds a store that code and tests
use directly (``Queue``, ``Stream``, ``Table``, ``Bucket``, ``Topic``, ``EventBus``,
``DeliveryStream``, ``LogGroup``, ``UserPool``, ``IoTBroker``, ``CustomResourceStack``), the
records Lambda delivers from it, and the trigger that runs a function from it (a mapping that
polls, a pump that pushes, a schedule, an HTTP route the server answers, a pool's synchronous
call). ``mappings``, ``push``, ``records`` and ``patterns`` are their shared parts.

A trigger says how it runs (``Trigger.runner``): adding a service is adding its module here
and re-exporting its public names from ``faaslib``; the invoker does not change.
"""
