#!/bin/bash
# Bash completion: verbs, each verb's options, workflow names, formats.
# Uses bash-completion's helpers when installed, else minimal stand-ins
# for the two the script calls, so the test runs on a bare machine.
docket=$1
src=$2
. "$src/tests/cli/tap.sh"

if [ -r /usr/share/bash-completion/bash_completion ]; then
	. /usr/share/bash-completion/bash_completion
else
	_init_completion() {
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	}
	_filedir() { COMPREPLY=(); }
	compopt() { :; }
fi
. "$src/cli/completion/docket.bash"
export DOCKET_WORKFLOWS="$src/workflows"
PATH="$(dirname "$docket"):$PATH"

complete_line() {  # complete_line WORD...: COMPREPLY for the last word, sorted
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_docket
	[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}

has "verbs" "$(complete_line docket "")" "advance assign backup check graph history inbox list new note plugins reload retry show stats status stuck validate version workflows"
is "verbs by prefix" "$(complete_line docket st)" "stats status stuck "
is "verbs after global options" "$(complete_line docket --home /tmp --as alice adv)" "advance "
is "global options" "$(complete_line docket --h)" "--help --home "
is "advance options" "$(complete_line docket advance SO-1 confirm -)" "--help --json --note --set -m -s "
has "list options" "$(complete_line docket list --)" "--mine"
has "list options include --all" "$(complete_line docket list --)" "--all"
is "workflow names after -w" "$(complete_line docket list -w sales)" "sales-lead sales-order "
is "workflow names for new" "$(complete_line docket new cust)" "customer-service "
is "nothing after the workflow of new" "$(complete_line docket new sales-order x)" ""
is "graph formats" "$(complete_line docket graph --format "")" "dot mermaid "
is "stats takes a workflow" "$(complete_line docket stats sales-l)" "sales-lead "

done_testing
