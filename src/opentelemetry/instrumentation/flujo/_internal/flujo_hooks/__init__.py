"""flujo integration: ExecutorCore patched and measured by the plugin itself."""
