package journal

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// Magic is the record magic of standalone databases.
const Magic = "JSON"

// MaxRecordSize bounds the length a header may announce; larger is
// treated as corruption rather than allocated.
const MaxRecordSize = 1 << 30

// ErrClosed is returned by operations on a closed File.
var ErrClosed = errors.New("journal: file closed")

// Logger receives warnings about dropped records. Nil discards them.
type Logger func(format string, args ...any)

// File is an open database file positioned for appending.
type File struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	records int // records in the file, schema included
	log     Logger
	closed  bool
}

// Encode returns the bytes of one record holding the JSON text body.
func Encode(body []byte) []byte {
	data := make([]byte, 0, len(body)+1)
	data = append(data, body...)
	data = append(data, '\n')
	sum := sha1.Sum(data)
	hdr := fmt.Sprintf("OVSDB %s %d %s\n", Magic, len(data), hex.EncodeToString(sum[:]))
	return append([]byte(hdr), data...)
}

// Reader reads records from a stream. Next returns false at the end or at
// the first bad record; Err then tells which (nil at a clean end).
type Reader struct {
	r    *bufio.Reader
	off  int64 // end of the last good record
	body []byte
	err  error
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// ErrTorn is reported (wrapped) for a record cut short by the end of the
// file; ErrCorrupt for one that is malformed.
var (
	ErrTorn    = errors.New("torn record")
	ErrCorrupt = errors.New("corrupt record")
)

// Next reads the next record's JSON body.
func (rd *Reader) Next() bool {
	if rd.err != nil {
		return false
	}
	hdr, err := rd.r.ReadSlice('\n')
	if err != nil {
		switch {
		case err == io.EOF && len(hdr) == 0:
			rd.err = io.EOF
		case err == io.EOF:
			rd.err = fmt.Errorf("%w: header at offset %d cut short", ErrTorn, rd.off)
		case errors.Is(err, bufio.ErrBufferFull):
			rd.err = fmt.Errorf("%w: header at offset %d too long", ErrCorrupt, rd.off)
		default:
			rd.err = err
		}
		return false
	}
	length, sum, ok := parseHeader(hdr)
	if !ok {
		rd.err = fmt.Errorf("%w: bad header %q at offset %d", ErrCorrupt, truncate(hdr), rd.off)
		return false
	}
	hlen := int64(len(hdr))
	// Grow the buffer as bytes arrive rather than trusting the header's
	// length for an allocation.
	data, err := io.ReadAll(io.LimitReader(rd.r, int64(length)))
	if err != nil {
		rd.err = err
		return false
	}
	if len(data) < length {
		rd.err = fmt.Errorf("%w: record at offset %d has %d of %d bytes", ErrTorn, rd.off, len(data), length)
		return false
	}
	if got := sha1.Sum(data); got != sum {
		rd.err = fmt.Errorf("%w: record at offset %d: SHA-1 mismatch", ErrCorrupt, rd.off)
		return false
	}
	body := bytes.TrimRight(data, " \t\r\n")
	if !json.Valid(body) || len(body) == 0 || (body[0] != '{' && body[0] != '[') {
		rd.err = fmt.Errorf("%w: record at offset %d is not a JSON object", ErrCorrupt, rd.off)
		return false
	}
	rd.off += hlen + int64(length)
	rd.body = body
	return true
}

// Record returns the body read by the last successful Next.
func (rd *Reader) Record() []byte { return rd.body }

// Offset returns the end of the last good record.
func (rd *Reader) Offset() int64 { return rd.off }

// Err returns nil after a clean end, else why reading stopped.
func (rd *Reader) Err() error {
	if rd.err == io.EOF {
		return nil
	}
	return rd.err
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// parseHeader parses "OVSDB JSON <length> <sha1>\n".
func parseHeader(h []byte) (int, [20]byte, bool) {
	var sum [20]byte
	const lead = "OVSDB " + Magic + " "
	if !bytes.HasPrefix(h, []byte(lead)) || h[len(h)-1] != '\n' {
		return 0, sum, false
	}
	rest := h[len(lead) : len(h)-1]
	sp := bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return 0, sum, false
	}
	n, err := strconv.ParseUint(string(rest[:sp]), 10, 31)
	if err != nil || n == 0 || n > MaxRecordSize {
		return 0, sum, false
	}
	hexsum := rest[sp+1:]
	if len(hexsum) != 40 {
		return 0, sum, false
	}
	if _, err := hex.Decode(sum[:], hexsum); err != nil {
		return 0, sum, false
	}
	return int(n), sum, true
}

// Open opens the database file at path, creating it with initial as its
// first record when it does not exist. It returns every good record body
// (the schema first). A torn or corrupt tail is logged, dropped and
// truncated away; only I/O errors and a file without even a good first
// record are errors.
func Open(path string, initial []byte, log Logger) (*File, [][]byte, error) {
	if log == nil {
		log = func(string, ...any) {}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		if initial == nil {
			return nil, nil, fmt.Errorf("journal: %s does not exist", path)
		}
		nf, werr := writeAtomically(path, [][]byte{initial})
		if werr != nil {
			return nil, nil, werr
		}
		nf.Close()
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("journal: open: %w", err)
	}
	rd := NewReader(f)
	var records [][]byte
	for rd.Next() {
		records = append(records, bytes.Clone(rd.Record()))
	}
	if err := rd.Err(); err != nil {
		if !errors.Is(err, ErrTorn) && !errors.Is(err, ErrCorrupt) {
			f.Close()
			return nil, nil, fmt.Errorf("journal: read %s: %w", path, err)
		}
		if len(records) == 0 {
			f.Close()
			return nil, nil, fmt.Errorf("journal: %s: no valid schema record: %w", path, err)
		}
		log("journal: %s: %v; dropping the rest of the file (truncating to %d bytes, %d good records)", path, err, rd.Offset(), len(records))
		if err := f.Truncate(rd.Offset()); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("journal: truncate %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("journal: sync %s: %w", path, err)
		}
	}
	if _, err := f.Seek(rd.Offset(), io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("journal: seek: %w", err)
	}
	return &File{path: path, f: f, size: rd.Offset(), records: len(records), log: log}, records, nil
}

// Append writes one record and fsyncs it. After a failed write the file
// is truncated back so that a later Append does not follow garbage.
func (j *File) Append(body []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	rec := Encode(body)
	if _, err := j.f.Write(rec); err != nil {
		j.f.Truncate(j.size)
		j.f.Seek(j.size, io.SeekStart)
		return fmt.Errorf("journal: write %s: %w", j.path, err)
	}
	if err := syncData(j.f); err != nil {
		return fmt.Errorf("journal: fdatasync %s: %w", j.path, err)
	}
	j.size += int64(len(rec))
	j.records++
	return nil
}

// Size returns the file's length in bytes.
func (j *File) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// Records returns how many records the file holds.
func (j *File) Records() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.records
}

// Path returns the file's name.
func (j *File) Path() string { return j.path }

// Replace atomically replaces the file's contents with the given records
// (a compacted database: schema, then one snapshot transaction), and keeps
// appending to the new file.
func (j *File) Replace(records [][]byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	// The new file's descriptor is kept from its creation, so appends
	// can never go to the replaced (unlinked) file.
	f, err := writeAtomically(j.path, records)
	if err != nil {
		return err
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		// Renamed already: appends must not continue on the old file.
		j.f.Close()
		j.f = f
		j.closed = true
		f.Close()
		return fmt.Errorf("journal: seek %s: %w", j.path, err)
	}
	j.f.Close()
	j.f, j.size, j.records = f, size, len(records)
	return nil
}

// writeAtomically writes records to a temporary file beside path, fsyncs
// it, renames it over path and fsyncs the directory. It returns the new
// file, open for reading and writing.
func writeAtomically(path string, records [][]byte) (*os.File, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 256<<10)
	for _, r := range records {
		if _, err := w.Write(Encode(r)); err != nil {
			return nil, fmt.Errorf("journal: write %s: %w", tmp.Name(), err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("journal: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		return nil, fmt.Errorf("journal: chmod: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("journal: fsync %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("journal: rename: %w", err)
	}
	renamed = true
	// The rename is durable once the directory is synced; the file is in
	// place either way, so a failure here is not worth losing it over.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return tmp, nil
}

// Close closes the file.
func (j *File) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	return j.f.Close()
}
