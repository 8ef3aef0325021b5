package oci

import (
	"io"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// progressBar shows the bytes written through it on out, a terminal; with
// a nil out it passes writes through silently.
type progressBar struct {
	p   *mpb.Progress
	bar *mpb.Bar
}

func newProgressBar(out io.Writer, name string, total int64) *progressBar {
	if out == nil {
		return &progressBar{}
	}
	p := mpb.New(mpb.WithOutput(out), mpb.WithWidth(40))
	bar := p.AddBar(total,
		mpb.PrependDecorators(decor.Name(name, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f"), decor.Name(" "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f")),
	)
	return &progressBar{p: p, bar: bar}
}

// Writer wraps w so that writes advance the bar.
func (b *progressBar) Writer(w io.Writer) io.Writer {
	if b.bar == nil {
		return w
	}
	return b.bar.ProxyWriter(w)
}

// Done completes (or abandons) the bar and waits until it is drawn.
func (b *progressBar) Done(ok bool) {
	if b.p == nil {
		return
	}
	if ok {
		b.bar.SetTotal(-1, true)
	} else {
		b.bar.Abort(false)
	}
	b.p.Wait()
}
