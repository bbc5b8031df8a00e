"""Registers the native executor under the name LocalStack's LAMBDA_RUNTIME_EXECUTOR selects."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class NativeRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "native"

    def load(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        from localstack_native.lambda_executor import NativeRuntimeExecutor

        return NativeRuntimeExecutor
