// Package netns makes Linux network namespaces with ip-netns(8) and runs
// commands and processes in them, for the end-to-end tests and `hostnet
// bench`: a namespace's kernel plays a VM or an outside host.
//
// Every process is started with Pdeathsig SIGKILL, so that it dies with
// the program that started it, and stopped by its PID. Pdeathsig fires
// when the OS thread that forked the child exits, not the process: a
// goroutine that locks its thread (runtime.LockOSThread) into another
// namespace must set the thread back and unlock it before it returns, or
// the runtime discards the thread and with it every process started from
// it.
//
// The package builds on Linux only; elsewhere it has only the table of
// the tools and their packages (Missing).
package netns
