package journal

import (
	"os"
	"syscall"
)

// syncData makes appended records durable. fdatasync(2) suffices for an
// append: it also flushes the file size, which reading the data needs,
// and skips the timestamps fsync would write.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
