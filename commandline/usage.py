"""Usage errors: a bad argument or an unusable input, told in one line that names the value and the fix."""
import argparse
import sys

USAGE_EXIT_CODE = 2  # what argparse itself uses for a bad command line


class UsageError(argparse.ArgumentTypeError, ValueError):
    """str() is the whole message for the user. As an argparse type's error it becomes argparse's own one-line
    error (argparse adds the flag's name); raised anywhere else, the entry point reports it with
    report_usage_error. It is a ValueError, so handlers written for bad values catch it too."""


def report_usage_error(error, prog: str = "") -> int:
    """Prints 'PROG: error: MESSAGE' as one line on stderr and returns the usage exit status (2)."""
    message = " ".join(str(error).split())  # one line, whatever the message held
    print(f"{prog}: error: {message}" if prog else f"error: {message}", file=sys.stderr)
    return USAGE_EXIT_CODE


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose command-line errors are one line, the error and where the options are listed,
    instead of the usage block followed by the error."""

    def error(self, message: str):
        self.exit(USAGE_EXIT_CODE, f"{self.prog}: error: {message} (options: {self.prog} --help)\n")


def run_command(run, args, prog: str, when_interrupted: str) -> int:
    """Runs a tool's run(args): a UsageError becomes one line and exit 2, Ctrl+C a line saying what was kept
    and exit 130 (the shell's code for an interrupt)."""
    try:
        return run(args)
    except UsageError as exc:
        return report_usage_error(exc, prog)
    except KeyboardInterrupt:
        print(f"stopped: {when_interrupted}", file=sys.stderr)
        return 130
