"""The services that drive Lambda, in-process, one module each (and its parts): ``sqs``,
``kinesis``, ``dynamodb``, ``s3``, ``sns``, ``schedule``, ``http`` with its ``http_events``,
``eventbridge``, ``firehose``, ``cloudwatch_logs`` with its ``log_patterns``, ``cognito`` with
its ``cognito_*`` parts, ``iot`` with its ``iot_sql*`` parts, ``cloudformation`` (custom
resources), ``ses``, ``s3_batch``, ``lex``, ``alexa``, ``codepipeline``, ``codecommit`` and
``config_rules``. Each holds a store or a caller that code and tests use directly (``Queue``,
``Stream``, ``Table``, ``Bucket``, ``Topic``, ``EventBus``, ``DeliveryStream``, ``LogGroup``,
``UserPool``, ``IoTBroker``, ``CustomResourceStack``, ``MailServer``, ``BatchJob``,
``LexBot``, ...), the events Lambda gets from it, and the trigger that runs a function from it
(a mapping that polls, a pump that pushes, a schedule, an HTTP route the server answers, a
service's synchronous call). ``mappings``, ``push``, ``records`` and ``patterns`` are their
shared parts.

A trigger says how it runs (``Trigger.runner``): adding a service is adding its module here
and re-exporting its public names from ``faaslib``; the invoker does not change.
"""
