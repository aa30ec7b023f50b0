// Package guest runs small Linux guests under QEMU for vhost-user tests:
// Debian's kernel and a busybox initramfs built by build-image.sh (cached
// per kernel version), guest RAM in a shared memfd, the virtio-net device on
// a vhost-user socket where QEMU is the server (libvirt's mode='server'),
// and a shell on the serial console that tests drive with Run.
package guest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gvswitch/internal/testenv"
)

var (
	imageOnce sync.Once
	imageDir  string
	imageErr  error
)

// Image returns the kernel and initramfs paths, building them on first
// use. It skips the test (fails under GVS_REQUIRE_ALL=1) when the tools are
// missing.
func Image(t testing.TB) (kernel, initrd string) {
	t.Helper()
	testenv.NeedRoot(t)
	testenv.NeedCommand(t, "qemu-system-x86_64", "busybox", "xz", "cpio", "apt-get", "dpkg-deb", "modinfo")
	imageOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "build-image.sh")
		out, err := exec.Command("bash", script).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			imageErr = fmt.Errorf("build-image.sh: %w", err)
			return
		}
		imageDir = strings.TrimSpace(string(out))
	})
	if imageErr != nil {
		testenv.Skip(t, "no guest image: %v", imageErr)
	}
	return filepath.Join(imageDir, "vmlinux"), filepath.Join(imageDir, "initramfs.cpio.gz")
}

// Options describe one guest.
type Options struct {
	// Name names the guest's files in Dir (console socket, log).
	Name string
	Dir  string
	// Socket is the vhost-user socket QEMU listens on, or with Client
	// the switch's socket that QEMU connects to (and reconnects to every
	// second when it goes away: a dpdkvhostuser port).
	Socket string
	Client bool
	MAC    string // e.g. 52:54:00:00:00:01
	IP     string // CIDR for eth0 (or eth0.VLAN), e.g. 10.0.0.1/24
	VLAN   int    // 0: untagged
	Queues int    // queue pairs; 0 means 1
	MemMB  int    // 0 means 256
}

// VM is a running guest.
type VM struct {
	opts    Options
	cmd     *exec.Cmd
	console net.Conn
	out     *bufio.Reader
	log     *os.File
	done    chan struct{}
}

// RealKVM reports whether /dev/kvm is usable and not the nested PVM
// hypervisor that boots Linux far slower than TCG (TESTING.md).
func RealKVM() bool {
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		return false
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// Start boots a guest. QEMU waits for the switch to connect to
// opts.Socket before it runs the guest; call WaitReady after the port
// exists. The guest is stopped at the end of the test.
func Start(t testing.TB, o Options) *VM {
	t.Helper()
	kernel, initrd := Image(t)
	if o.Queues == 0 {
		o.Queues = 1
	}
	if o.MemMB == 0 {
		o.MemMB = 256
	}
	conSock := filepath.Join(o.Dir, o.Name+".console")
	os.Remove(conSock)
	logf, err := os.Create(filepath.Join(o.Dir, o.Name+".qemu.log"))
	if err != nil {
		t.Fatal(err)
	}
	accel, cpu, vectors := "tcg", "max", ",vectors=0" // QEMU 7.2 TCG + vhost-user + MSI-X crashes
	if RealKVM() {
		accel, cpu, vectors = "kvm", "host", ""
	}
	mq := ""
	if o.Queues > 1 {
		mq = ",mq=on"
		if vectors == "" {
			mq += fmt.Sprintf(",vectors=%d", 2*o.Queues+2)
		}
	}
	cmdline := "console=ttyS0 quiet loglevel=1 panic=-1 gvs.ip=" + o.IP
	if o.VLAN != 0 {
		cmdline += fmt.Sprintf(" gvs.vlan=%d", o.VLAN)
	}
	args := []string{
		"-name", o.Name, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "pc,accel=" + accel + ",memory-backend=mem0", "-cpu", cpu, "-smp", "1",
		"-m", fmt.Sprintf("%dM", o.MemMB),
		"-object", fmt.Sprintf("memory-backend-memfd,id=mem0,share=on,size=%dM", o.MemMB),
		"-kernel", kernel, "-initrd", initrd, "-append", cmdline,
		"-chardev", "socket,id=con0,path=" + conSock + ",server=on,wait=off", "-serial", "chardev:con0",
		"-chardev", "socket,id=char0,path=" + o.Socket + chardevMode(o.Client),
		"-netdev", fmt.Sprintf("vhost-user,chardev=char0,id=net0,queues=%d", o.Queues),
		"-device", "virtio-net-pci,netdev=net0,mac=" + o.MAC + vectors + mq,
	}
	cmd := exec.Command("qemu-system-x86_64", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test binary dies without its clean-up (a signal), the
	// guest goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("qemu: %v", err)
	}
	v := &VM{opts: o, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { cmd.Wait(); close(v.done) }()
	t.Cleanup(v.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", conSock)
		if err == nil {
			v.console, v.out = c, bufio.NewReader(c)
			break
		}
		if time.Now().After(deadline) || v.Exited() {
			v.Stop()
			t.Fatalf("guest %s: no console: %v; %s", o.Name, err, v.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return v
}

func chardevMode(client bool) string {
	if client {
		return ",reconnect=1"
	}
	return ",server=on"
}

// Exited reports whether QEMU has exited.
func (v *VM) Exited() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// Log is QEMU's own output so far.
func (v *VM) Log() string {
	b, _ := os.ReadFile(v.log.Name())
	return string(b)
}

// PID is QEMU's process id.
func (v *VM) PID() int { return v.cmd.Process.Pid }

// Stop kills QEMU (by its PID) and waits for it.
func (v *VM) Stop() {
	if v.cmd.Process != nil && !v.Exited() {
		v.cmd.Process.Kill()
		<-v.done
	}
	if v.console != nil {
		v.console.Close()
	}
	v.log.Close()
}

// WaitReady waits until the guest's init has configured eth0.
func (v *VM) WaitReady(timeout time.Duration) error {
	_, err := v.readUntil("GVS-GUEST-READY", timeout)
	return err
}

func (v *VM) readUntil(marker string, timeout time.Duration) (string, error) {
	v.console.SetReadDeadline(time.Now().Add(timeout))
	defer v.console.SetReadDeadline(time.Time{})
	var buf bytes.Buffer
	for {
		line, err := v.out.ReadString('\n')
		buf.WriteString(line)
		if strings.Contains(line, marker) {
			return buf.String(), nil
		}
		if err != nil {
			return buf.String(), fmt.Errorf("guest %s: waiting for %q: %w (console: %q)", v.opts.Name, marker, err, tail(buf.String(), 2000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Run runs a shell command in the guest and returns its output and exit
// status.
func (v *VM) Run(command string, timeout time.Duration) (string, int, error) {
	marker := fmt.Sprintf("__GVS_RC_%d__", time.Now().UnixNano())
	if _, err := fmt.Fprintf(v.console, "%s; echo %s=$?\n", command, marker); err != nil {
		return "", -1, err
	}
	res, err := v.readUntil(marker+"=", timeout)
	if err != nil {
		return res, -1, err
	}
	i := strings.LastIndex(res, marker+"=")
	rc := -1
	fmt.Sscanf(res[i+len(marker)+1:], "%d", &rc)
	return res[:i], rc, nil
}
