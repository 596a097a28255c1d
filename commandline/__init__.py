"""What every command line shares: argument types that name the bad value and the fix, and one way to stop on a
usage error (one line on stderr, exit status 2). A leaf package: imports nothing of ours."""
from commandline.arguments import (FrameSize, existing_file, non_negative_float, non_negative_int, parse_size,
                                   positive_float, positive_int, positive_int_list, share, size_at_least,
                                   writable_folder)
from commandline.usage import USAGE_EXIT_CODE, ArgumentParser, UsageError, report_usage_error, run_command

__all__ = ["ArgumentParser", "FrameSize", "USAGE_EXIT_CODE", "UsageError", "existing_file", "non_negative_float",
           "non_negative_int", "parse_size", "positive_float", "positive_int", "positive_int_list",
           "report_usage_error", "run_command", "share", "size_at_least", "writable_folder"]
