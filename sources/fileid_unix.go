//go:build unix

package sources

import (
	"fmt"
	"os"
	"syscall"
)

// fileKey groups files that may be the same file: device and inode where the system has them,
// so a file that grows between two stats is still recognised.
func fileKey(fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprint("ino:", st.Dev, ":", st.Ino)
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}
