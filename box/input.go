package box

import "fmt"

// Inputs of box runs an InputError can be about. The error's text names
// the value or file; a command line maps Input to its option.
const (
	InputMemory      = "box memory"
	InputBoxKiwi     = "box kiwi"
	InputSSHKey      = "ssh key"
	InputSSHPort     = "ssh port"
	InputVirtiofs    = "virtiofs sharing"
	InputTempDir     = "temp dir"
	InputConnection  = "podman service"
	InputDescription = "description"
	InputTarget      = "target dir"
	InputSharedCache = "shared cache dir"
	InputSharedPath  = "shared path"
	InputKubeKind    = "kube kind"
	InputKubeFile    = "kube manifest"
	InputBoxImage    = "box image"
	InputKubePush    = "kube push"
)

// InputError is an error about one input the caller gave a box run: a
// value or a file that is wrong, or a setting the host cannot serve. Its
// text names the value; Input says which input it is.
type InputError struct {
	Input string
	err   error
}

func (e *InputError) Error() string { return e.err.Error() }
func (e *InputError) Unwrap() error { return e.err }

// inputError makes an InputError about input; format should name the
// input and its value ("box memory %q: ...").
func inputError(input, format string, a ...any) error {
	return &InputError{Input: input, err: fmt.Errorf(format, a...)}
}
