"""faaslib: AWS Lambda's programming model inside one Python process.

Everything public is re-exported here; the modules behind it are private (``faaslib._x``).
"""

from __future__ import annotations

from ._blocking import BlockingInvoker as BlockingInvoker
from ._clock import Clock as Clock
from ._clock import SystemClock as SystemClock
from ._clock import VirtualClock as VirtualClock
from ._context import Client as Client
from ._context import ClientContext as ClientContext
from ._context import CognitoIdentity as CognitoIdentity
from ._context import Context as Context
from ._destinations import DeadLetter as DeadLetter
from ._destinations import DeadLetterTarget as DeadLetterTarget
from ._destinations import Destination as Destination
from ._destinations import DestinationTarget as DestinationTarget
from ._errors import AccessDeniedException as AccessDeniedException
from ._errors import ConfigurationError as ConfigurationError
from ._errors import FaaslibError as FaaslibError
from ._errors import InvalidMessageContents as InvalidMessageContents
from ._errors import InvalidParameterException as InvalidParameterException
from ._errors import InvalidParameterValueException as InvalidParameterValueException
from ._errors import InvalidRequestContentException as InvalidRequestContentException
from ._errors import InvokerClosed as InvokerClosed
from ._errors import RequestTooLargeException as RequestTooLargeException
from ._errors import ResourceConflictException as ResourceConflictException
from ._errors import ResourceNotFoundException as ResourceNotFoundException
from ._errors import ServiceException as ServiceException
from ._errors import TemplateError as TemplateError
from ._errors import TemplateWarning as TemplateWarning
from ._errors import TooManyRequestsException as TooManyRequestsException
from ._errors import ValidationException as ValidationException
from ._faults import Faults as Faults
from ._file_system import EFSMountFailureException as EFSMountFailureException
from ._file_system import FileSystem as FileSystem
from ._history import History as History
from ._history import Invocation as Invocation
from ._invoker import Invoker as Invoker
from ._metrics import FunctionMetrics as FunctionMetrics
from ._metrics import Metrics as Metrics
from ._metrics import PriceTable as PriceTable
from ._permissions import PolicyStatement as PolicyStatement
from ._registry import Registry as Registry
from ._registry import RegistrySnapshot as RegistrySnapshot
from ._result import InvocationResult as InvocationResult
from ._result import InvocationType as InvocationType
from ._result import LogType as LogType
from ._services.alexa import AlexaDevice as AlexaDevice
from ._services.alexa import AlexaSkill as AlexaSkill
from ._services.alexa import SkillResponseError as SkillResponseError
from ._services.cloudformation import CustomResource as CustomResource
from ._services.cloudformation import CustomResourceFailed as CustomResourceFailed
from ._services.cloudformation import CustomResourceStack as CustomResourceStack
from ._services.cloudformation import StackEvent as StackEvent
from ._services.cloudfront import Distribution as Distribution
from ._services.cloudfront import EdgeFailure as EdgeFailure
from ._services.cloudfront import EdgeResponseError as EdgeResponseError
from ._services.cloudfront import (
    InvalidLambdaFunctionAssociation as InvalidLambdaFunctionAssociation,
)
from ._services.cloudfront import RouteOrigin as RouteOrigin
from ._services.cloudwatch_logs import CloudWatchLogs as CloudWatchLogs
from ._services.cloudwatch_logs import LimitExceededException as LimitExceededException
from ._services.cloudwatch_logs import LogGroup as LogGroup
from ._services.codecommit import BranchNameExistsException as BranchNameExistsException
from ._services.codecommit import CodeCommit as CodeCommit
from ._services.codecommit import CodeCommitError as CodeCommitError
from ._services.codecommit import CommitDoesNotExistException as CommitDoesNotExistException
from ._services.codecommit import (
    DefaultBranchCannotBeDeletedException as DefaultBranchCannotBeDeletedException,
)
from ._services.codecommit import Repository as Repository
from ._services.codepipeline import ActionExecution as ActionExecution
from ._services.codepipeline import CodePipelineError as CodePipelineError
from ._services.codepipeline import InvalidJobStateException as InvalidJobStateException
from ._services.codepipeline import JobNotFoundException as JobNotFoundException
from ._services.codepipeline import LambdaInvoke as LambdaInvoke
from ._services.codepipeline import Pipeline as Pipeline
from ._services.codepipeline import PipelineExecution as PipelineExecution
from ._services.codepipeline import Stage as Stage
from ._services.cognito import Cognito as Cognito
from ._services.cognito import UserPool as UserPool
from ._services.cognito import token_claims as token_claims
from ._services.cognito_errors import CodeMismatchException as CodeMismatchException
from ._services.cognito_errors import CognitoError as CognitoError
from ._services.cognito_errors import (
    InvalidLambdaResponseException as InvalidLambdaResponseException,
)
from ._services.cognito_errors import InvalidPasswordException as InvalidPasswordException
from ._services.cognito_errors import NotAuthorizedException as NotAuthorizedException
from ._services.cognito_errors import (
    PasswordResetRequiredException as PasswordResetRequiredException,
)
from ._services.cognito_errors import UnexpectedLambdaException as UnexpectedLambdaException
from ._services.cognito_errors import UserLambdaValidationException as UserLambdaValidationException
from ._services.cognito_errors import UsernameExistsException as UsernameExistsException
from ._services.cognito_errors import UserNotConfirmedException as UserNotConfirmedException
from ._services.cognito_errors import UserNotFoundException as UserNotFoundException
from ._services.cognito_pool import SentMessage as SentMessage
from ._services.config_rules import ConfigRule as ConfigRule
from ._services.config_rules import ConfigRuleEvaluation as ConfigRuleEvaluation
from ._services.config_rules import InvalidResultTokenException as InvalidResultTokenException
from ._services.dynamodb import DynamoDB as DynamoDB
from ._services.dynamodb import Table as Table
from ._services.eventbridge import EventBridgeRule as EventBridgeRule
from ._services.eventbridge import EventBus as EventBus
from ._services.eventbridge import InvalidEventPatternException as InvalidEventPatternException
from ._services.eventbridge import RuleStatistics as RuleStatistics
from ._services.firehose import DeliveryStream as DeliveryStream
from ._services.firehose import DeliveryStreamStatistics as DeliveryStreamStatistics
from ._services.firehose import FirehoseTransform as FirehoseTransform
from ._services.http import ALB as ALB
from ._services.http import Api as Api
from ._services.http import FunctionUrl as FunctionUrl
from ._services.http import HttpApi as HttpApi
from ._services.http import HttpTrigger as HttpTrigger
from ._services.http_events import HttpAnswer as HttpAnswer
from ._services.http_events import HttpRequest as HttpRequest
from ._services.iot import IoTBroker as IoTBroker
from ._services.iot import IoTRule as IoTRule
from ._services.iot import default_broker as default_broker
from ._services.kinesis import Kinesis as Kinesis
from ._services.kinesis import Stream as Stream
from ._services.kinesis import StreamRecord as StreamRecord
from ._services.lex import DependencyFailedException as DependencyFailedException
from ._services.lex import LexBot as LexBot
from ._services.lex import LexIntent as LexIntent
from ._services.lex import LexSlot as LexSlot
from ._services.mappings import EventSourceMapping as EventSourceMapping
from ._services.mappings import MappingStatistics as MappingStatistics
from ._services.s3 import S3 as S3
from ._services.s3 import Bucket as Bucket
from ._services.s3_batch import BatchJob as BatchJob
from ._services.s3_batch import BatchTask as BatchTask
from ._services.s3_batch import TaskResult as TaskResult
from ._services.schedule import Schedule as Schedule
from ._services.ses import SES as SES
from ._services.ses import ActionRun as ActionRun
from ._services.ses import AlreadyExistsException as AlreadyExistsException
from ._services.ses import MailServer as MailServer
from ._services.ses import ReceiptRule as ReceiptRule
from ._services.ses import ReceivedMail as ReceivedMail
from ._services.ses import RuleDoesNotExistException as RuleDoesNotExistException
from ._services.sns import SNS as SNS
from ._services.sns import Topic as Topic
from ._services.sqs import SQS as SQS
from ._services.sqs import Message as Message
from ._services.sqs import Queue as Queue
from ._site import Site as Site
from ._spec import FunctionSpec as FunctionSpec
from ._stats import InvokerStatistics as InvokerStatistics
from ._stats import PendingEvent as PendingEvent
from ._triggers import Trigger as Trigger
from ._triggers import TriggerHost as TriggerHost
from ._triggers import TriggerRunner as TriggerRunner
from ._versions import Alias as Alias

__version__ = "0.1.0"

from .workflows._errors import ExecutionAlreadyExists as ExecutionAlreadyExists
from .workflows._errors import ExecutionDoesNotExist as ExecutionDoesNotExist
from .workflows._errors import InvalidArn as InvalidArn
from .workflows._errors import InvalidDefinition as InvalidDefinition
from .workflows._errors import InvalidExecutionInput as InvalidExecutionInput
from .workflows._errors import InvalidName as InvalidName
from .workflows._errors import InvalidOutput as InvalidOutput
from .workflows._errors import InvalidToken as InvalidToken
from .workflows._errors import StateMachineAlreadyExists as StateMachineAlreadyExists
from .workflows._errors import StateMachineDoesNotExist as StateMachineDoesNotExist
from .workflows._errors import StateMachineTypeNotSupported as StateMachineTypeNotSupported
from .workflows._errors import TaskDoesNotExist as TaskDoesNotExist
from .workflows._errors import TaskTimedOut as TaskTimedOut
from .workflows._machines import StateMachine as StateMachine
from .workflows._result import ExecutionResult as ExecutionResult

__all__ = [
    "ALB",
    "S3",
    "SES",
    "SNS",
    "SQS",
    "AccessDeniedException",
    "ActionExecution",
    "ActionRun",
    "AlexaDevice",
    "AlexaSkill",
    "Alias",
    "AlreadyExistsException",
    "Api",
    "BatchJob",
    "BatchTask",
    "BlockingInvoker",
    "BranchNameExistsException",
    "Bucket",
    "Client",
    "ClientContext",
    "Clock",
    "CloudWatchLogs",
    "CodeCommit",
    "CodeCommitError",
    "CodeMismatchException",
    "CodePipelineError",
    "Cognito",
    "CognitoError",
    "CognitoIdentity",
    "CommitDoesNotExistException",
    "ConfigRule",
    "ConfigRuleEvaluation",
    "ConfigurationError",
    "Context",
    "CustomResource",
    "CustomResourceFailed",
    "CustomResourceStack",
    "DeadLetter",
    "DeadLetterTarget",
    "DefaultBranchCannotBeDeletedException",
    "DeliveryStream",
    "DeliveryStreamStatistics",
    "DependencyFailedException",
    "Destination",
    "DestinationTarget",
    "Distribution",
    "DynamoDB",
    "EFSMountFailureException",
    "EdgeFailure",
    "EdgeResponseError",
    "EventBridgeRule",
    "EventBus",
    "EventSourceMapping",
    "ExecutionAlreadyExists",
    "ExecutionDoesNotExist",
    "ExecutionResult",
    "FaaslibError",
    "Faults",
    "FileSystem",
    "FirehoseTransform",
    "FunctionMetrics",
    "FunctionSpec",
    "FunctionUrl",
    "History",
    "HttpAnswer",
    "HttpApi",
    "HttpRequest",
    "HttpTrigger",
    "InvalidArn",
    "InvalidDefinition",
    "InvalidEventPatternException",
    "InvalidExecutionInput",
    "InvalidJobStateException",
    "InvalidLambdaFunctionAssociation",
    "InvalidLambdaResponseException",
    "InvalidMessageContents",
    "InvalidName",
    "InvalidOutput",
    "InvalidParameterException",
    "InvalidParameterValueException",
    "InvalidPasswordException",
    "InvalidRequestContentException",
    "InvalidResultTokenException",
    "InvalidToken",
    "Invocation",
    "InvocationResult",
    "InvocationType",
    "Invoker",
    "InvokerClosed",
    "InvokerStatistics",
    "IoTBroker",
    "IoTRule",
    "JobNotFoundException",
    "Kinesis",
    "LambdaInvoke",
    "LexBot",
    "LexIntent",
    "LexSlot",
    "LimitExceededException",
    "LogGroup",
    "LogType",
    "MailServer",
    "MappingStatistics",
    "Message",
    "Metrics",
    "NotAuthorizedException",
    "PasswordResetRequiredException",
    "PendingEvent",
    "Pipeline",
    "PipelineExecution",
    "PolicyStatement",
    "PriceTable",
    "Queue",
    "ReceiptRule",
    "ReceivedMail",
    "Registry",
    "RegistrySnapshot",
    "Repository",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "RouteOrigin",
    "RuleDoesNotExistException",
    "RuleStatistics",
    "Schedule",
    "SentMessage",
    "ServiceException",
    "Site",
    "SkillResponseError",
    "StackEvent",
    "Stage",
    "StateMachine",
    "StateMachineAlreadyExists",
    "StateMachineDoesNotExist",
    "StateMachineTypeNotSupported",
    "Stream",
    "StreamRecord",
    "SystemClock",
    "Table",
    "TaskDoesNotExist",
    "TaskResult",
    "TaskTimedOut",
    "TemplateError",
    "TemplateWarning",
    "TooManyRequestsException",
    "Topic",
    "Trigger",
    "TriggerHost",
    "TriggerRunner",
    "UnexpectedLambdaException",
    "UserLambdaValidationException",
    "UserNotConfirmedException",
    "UserNotFoundException",
    "UserPool",
    "UsernameExistsException",
    "ValidationException",
    "VirtualClock",
    "default_broker",
    "token_claims",
]
