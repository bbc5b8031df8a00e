"""Registers the native executor under the name LocalStack's LAMBDA_RUNTIME_EXECUTOR selects."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class NativeRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "native"

    def load(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        from lab_lambda_executor.executor import NativeRuntimeExecutor

        return NativeRuntimeExecutor
