//go:build !unix

package sources

import (
	"fmt"
	"os"
)

// fileKey groups files that may be the same file (os.SameFile decides); without inodes, by size
// and modification time.
func fileKey(fi os.FileInfo) string {
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}
