// argprobe.go: the argument-rule tests' Go program, whose runtime makes its own clone calls
// (threads, and fork/exec through clone with CLONE_VFORK|CLONE_VM, never clone3).
//
//	argprobe work     waits on the poller once, listens on an AF_INET socket and runs itself as a
//	                  child; prints "worked"
//	argprobe refused  runs itself as a child in a new user namespace; prints
//	                  "clone-newuser ERRNO" (0: it worked)
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func child(flags uintptr) error {
	cmd := exec.Command("/proc/self/exe", "child")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	return cmd.Run()
}

// quiet makes the runtime's own calls the same on every run: without asynchronous
// preemption no SIGURG lands at a moment that depends on the machine's load (a run under its
// profile that took a signal its recording never took would need rt_sigreturn and tgkill).
// Go 1.19 reads GODEBUG only at start, so the program runs itself again with it set.
func quiet() {
	if os.Getenv("GODEBUG") != "" {
		return
	}
	env := append(os.Environ(), "GODEBUG=asyncpreemptoff=1")
	if err := syscall.Exec("/proc/self/exe", os.Args, env); err != nil {
		fmt.Println("re-exec:", err)
		os.Exit(1)
	}
}

// poll waits on the runtime's network poller once, so that a recording always holds its
// calls: the runtime's monitor thread polls it too, at moments that depend on timing, and a
// run under the profile that polled when its recording never did failed with "netpoll
// failed" (epoll_pwait refused).
func poll() {
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	r.Read(make([]byte, 1))
	r.Close()
	w.Close()
}

func main() {
	if len(os.Args) != 2 {
		os.Exit(2)
	}
	quiet()
	switch os.Args[1] {
	case "child":
	case "work":
		poll()
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		l.Close()
		if err := child(0); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("worked")
	case "refused":
		var errno syscall.Errno
		err := child(syscall.CLONE_NEWUSER)
		switch {
		case err == nil:
			fmt.Println("clone-newuser 0")
		case errors.As(err, &errno):
			fmt.Printf("clone-newuser %d\n", int(errno))
		default:
			fmt.Println("clone-newuser", err)
		}
	default:
		os.Exit(2)
	}
}
