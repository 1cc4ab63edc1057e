"""A throwaway app that states tracing's, custody's and the overdue facts from lists the tests fill,
so the command layer is tested without the apps that will state them (core/facts.py shapes)."""
