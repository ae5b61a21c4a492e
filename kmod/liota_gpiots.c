// SPDX-License-Identifier: GPL-2.0
/*
 * liota_gpiots: GPIO edges time-stamped in the hard-IRQ handler and
 * delivered through a ring mapped by userspace (/dev/liota-gpiots).
 *
 * gpiolib's character device stamps edges in a threaded handler and keeps
 * them in a small per-request kfifo: at high rates edges merge or are
 * dropped without a trace. Here the hard-IRQ handler takes the time first,
 * writes a fixed record into a ring shared with the reader, and counts what
 * a full ring cannot take, so that every edge is either delivered once or
 * counted as lost. The ring layout and the ioctls are in the uapi header
 * <linux/liota_gpiots.h>.
 *
 * Lifetimes: an open file owns its ring and its lines. A line holds its
 * GPIO (gpiod reference, which pins the chip's module), its IRQ and a
 * reference to the chip's parent device. A bus notifier on that device
 * releases the GPIO and the IRQ before the chip goes away (gpio-sim's
 * "live = 0", an unbind): the line stays in the file, marked gone in the
 * header, until the reader detaches it or closes. An open file pins this
 * module, so rmmod fails with EBUSY while lines are attached.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/gpio.h>
#include <linux/gpio/consumer.h>
#include <linux/gpio/driver.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/liota_gpiots.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>

#define GTS_CONSUMER "liota-gpiots"

struct gts_file;

struct gts_line {
	struct gts_file *file;
	/* Serialises the release of desc and irq (close vs. chip removal). */
	struct mutex lock;
	struct gpio_desc *desc; /* NULL once released */
	struct device *parent;  /* the chip's parent, referenced */
	struct notifier_block nb;
	unsigned int irq;
	u32 id;
	u32 edges;
	bool read_level; /* the chip can be read in hard-IRQ context */
	/* Below: written by the IRQ handler under file->prod_lock. */
	u64 seq;
	u8 level;
};

struct gts_file {
	struct mutex lock; /* lines[], the ring's setup */
	/* Producers (the lines' IRQ handlers, on any CPU) and hdr->gone. */
	raw_spinlock_t prod_lock;
	struct gts_line *lines[LIOTA_GPIOTS_MAX_LINES];
	void *ring; /* vmalloc_user: header page, then data pages */
	size_t ring_size;
	struct liota_gpiots_header *hdr;
	struct liota_gpiots_record *data;
	u64 head; /* under prod_lock; hdr->head is its published copy */
	u64 gone; /* lines whose chip went away, under prod_lock */
	u32 capacity;
	u32 watermark;
	u64 timeout_ns;
	bool expired; /* the oldest unread record waited timeout_ns */
	struct hrtimer timer;
	wait_queue_head_t wait;
};

static void gts_wake(struct gts_file *f)
{
	/* wq_has_sleeper() orders the published head before the check. */
	if (wq_has_sleeper(&f->wait))
		wake_up_interruptible(&f->wait);
}

/* The level after an edge, and that edge, as cheaply as the chip allows. */
static u8 gts_edge_level(struct gts_line *line)
{
	if (line->edges == LIOTA_GPIOTS_EDGE_RISING)
		return 1;
	if (line->edges == LIOTA_GPIOTS_EDGE_FALLING)
		return 0;
	/*
	 * Both edges: a chip behind a sleeping bus (gpio-sim, I2C expanders)
	 * cannot be read here; every interrupt is then the opposite edge of
	 * the one before.
	 */
	if (line->read_level)
		return gpiod_get_raw_value(line->desc) ? 1 : 0;
	return line->level ? 0 : 1;
}

static irqreturn_t gts_irq(int irq, void *data)
{
	struct gts_line *line = data;
	struct gts_file *f = line->file;
	u64 now = ktime_get_ns();
	s64 offset = ktime_to_ns(ktime_mono_to_real(ns_to_ktime(now))) - now;
	struct liota_gpiots_record *rec;
	u64 avail;
	u8 level;

	level = gts_edge_level(line);

	raw_spin_lock(&f->prod_lock);
	line->seq++;
	line->level = level;
	/* Pairs with the reader's release of tail: its reads of the slots are done. */
	avail = f->head - smp_load_acquire(&f->hdr->tail);
	if (avail >= f->capacity) {
		/* Full (or a reader that wrote a bogus tail): count, keep. */
		WRITE_ONCE(f->hdr->overflow, f->hdr->overflow + 1);
		raw_spin_unlock(&f->prod_lock);
		return IRQ_HANDLED;
	}
	rec = &f->data[f->head & (f->capacity - 1)];
	rec->mono_ns = now;
	rec->realtime_offset_ns = offset;
	rec->seq = line->seq;
	rec->line = line->id;
	rec->edge = level ? LIOTA_GPIOTS_EDGE_RISING : LIOTA_GPIOTS_EDGE_FALLING;
	rec->level = level;
	rec->padding = 0;
	f->head++;
	/* Pairs with the reader's acquire of head: the record is written. */
	smp_store_release(&f->hdr->head, f->head);
	avail++;
	if (avail == 1)
		WRITE_ONCE(f->expired, false);
	raw_spin_unlock(&f->prod_lock);

	if (avail >= f->watermark)
		gts_wake(f);
	else if (avail == 1 && f->timeout_ns)
		hrtimer_start(&f->timer, ns_to_ktime(f->timeout_ns),
			      HRTIMER_MODE_REL);
	return IRQ_HANDLED;
}

/* A record waited timeout_ns below the watermark: wake the reader once. */
static enum hrtimer_restart gts_timer(struct hrtimer *timer)
{
	struct gts_file *f = container_of(timer, struct gts_file, timer);

	WRITE_ONCE(f->expired, true);
	gts_wake(f);
	return HRTIMER_NORESTART;
}

/* Frees the line's IRQ and GPIO once, whoever comes first: true if here. */
static bool gts_line_release(struct gts_line *line)
{
	bool released = false;

	mutex_lock(&line->lock);
	if (line->desc) {
		free_irq(line->irq, line);
		gpiod_put(line->desc);
		line->desc = NULL;
		released = true;
	}
	mutex_unlock(&line->lock);
	return released;
}

static void gts_set_gone(struct gts_file *f, u32 id, bool gone)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&f->prod_lock, flags);
	if (gone)
		f->gone |= BIT_ULL(id);
	else
		f->gone &= ~BIT_ULL(id);
	WRITE_ONCE(f->hdr->gone, f->gone);
	raw_spin_unlock_irqrestore(&f->prod_lock, flags);
}

/*
 * The chip's parent device is being deleted or unbound: the chip and its
 * IRQ domain go next, so release the line now, while both still exist.
 */
static int gts_bus_notify(struct notifier_block *nb, unsigned long action,
			  void *data)
{
	struct gts_line *line = container_of(nb, struct gts_line, nb);
	struct gts_file *f = line->file;

	if (data != line->parent ||
	    (action != BUS_NOTIFY_DEL_DEVICE &&
	     action != BUS_NOTIFY_UNBIND_DRIVER))
		return NOTIFY_DONE;
	if (gts_line_release(line)) {
		gts_set_gone(f, line->id, true);
		wake_up_interruptible(&f->wait);
	}
	return NOTIFY_OK;
}

/* The line is out of f->lines: nothing but this function reaches it. */
static void gts_line_free(struct gts_line *line)
{
	/* Not under any lock the notifier takes: unregistering waits for it. */
	bus_unregister_notifier(line->parent->bus, &line->nb);
	gts_line_release(line);
	put_device(line->parent);
	kfree(line);
}

struct gts_lookup {
	const char *label;
	u32 offset;
	int gpio;
	int err;
	struct device *parent;
};

/* Runs under gpiolib's lock: note the line's number and the chip's parent. */
static int gts_match(struct gpio_chip *gc, void *data)
{
	struct gts_lookup *lk = data;

	if (!gc->label || strcmp(gc->label, lk->label))
		return 0;
	if (lk->offset >= gc->ngpio) {
		lk->err = -EINVAL;
		return 1;
	}
	if (!gc->parent || !gc->parent->bus) {
		lk->err = -EOPNOTSUPP;
		return 1;
	}
	lk->gpio = gc->base + lk->offset;
	lk->parent = get_device(gc->parent);
	return 1;
}

/* Requests the line on the chip labelled lk->label; a reference to it. */
static struct gpio_desc *gts_request(struct gts_lookup *lk)
{
	struct gpio_desc *desc;
	struct gpio_chip *gc;
	int ret;

	if (!gpiochip_find(lk, gts_match))
		return ERR_PTR(-ENODEV);
	if (lk->err)
		return ERR_PTR(lk->err);
	ret = gpio_request(lk->gpio, GTS_CONSUMER);
	if (ret)
		goto err_put_parent;
	desc = gpio_to_desc(lk->gpio);
	/* The chip may have changed between the lookup and the request. */
	gc = desc ? gpiod_to_chip(desc) : NULL;
	if (!gc || gc->parent != lk->parent || !gc->label ||
	    strcmp(gc->label, lk->label)) {
		ret = -ENODEV;
		goto err_free;
	}
	return desc;

err_free:
	gpio_free(lk->gpio);
err_put_parent:
	put_device(lk->parent);
	return ERR_PTR(ret);
}

static long gts_attach(struct gts_file *f, void __user *arg)
{
	struct liota_gpiots_attach req;
	struct gts_lookup lk = { 0 };
	unsigned long flags = 0;
	struct gts_line *line;
	struct gpio_desc *desc;
	int ret, irq;
	u32 id;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.padding || req.line || req.level ||
	    !req.edges || (req.edges & ~LIOTA_GPIOTS_EDGE_BOTH) ||
	    strnlen(req.chip, sizeof(req.chip)) == sizeof(req.chip) ||
	    !req.chip[0])
		return -EINVAL;
	if (req.edges & LIOTA_GPIOTS_EDGE_RISING)
		flags |= IRQF_TRIGGER_RISING;
	if (req.edges & LIOTA_GPIOTS_EDGE_FALLING)
		flags |= IRQF_TRIGGER_FALLING;

	mutex_lock(&f->lock);
	ret = -EINVAL; /* LIOTA_GPIOTS_SETUP first */
	if (!f->ring)
		goto err_unlock;
	for (id = 0; id < LIOTA_GPIOTS_MAX_LINES && f->lines[id]; id++)
		;
	ret = -ENOSPC;
	if (id == LIOTA_GPIOTS_MAX_LINES)
		goto err_unlock;

	lk.label = req.chip;
	lk.offset = req.offset;
	desc = gts_request(&lk);
	if (IS_ERR(desc)) {
		ret = PTR_ERR(desc);
		goto err_unlock;
	}
	ret = -ENOMEM;
	line = kzalloc(sizeof(*line), GFP_KERNEL);
	if (!line)
		goto err_put_desc;
	mutex_init(&line->lock);
	line->file = f;
	line->desc = desc;
	line->parent = lk.parent;
	line->id = id;
	line->edges = req.edges;
	line->read_level = !gpiod_cansleep(desc);

	ret = gpiod_direction_input(desc);
	if (ret)
		goto err_free_line;
	ret = gpiod_get_raw_value_cansleep(desc);
	if (ret < 0)
		goto err_free_line;
	line->level = ret ? 1 : 0;
	irq = gpiod_to_irq(desc);
	if (irq <= 0) {
		ret = irq ? irq : -ENXIO;
		goto err_free_line;
	}
	line->irq = irq;
	line->nb.notifier_call = gts_bus_notify;
	ret = bus_register_notifier(line->parent->bus, &line->nb);
	if (ret)
		goto err_free_line;
	gts_set_gone(f, id, false);
	ret = request_irq(irq, gts_irq, flags, GTS_CONSUMER, line);
	if (ret)
		goto err_unregister;

	req.line = id;
	req.level = line->level;
	if (copy_to_user(arg, &req, sizeof(req))) {
		ret = -EFAULT;
		goto err_free_irq;
	}
	f->lines[id] = line;
	mutex_unlock(&f->lock);
	return 0;

err_free_irq:
	free_irq(irq, line);
err_unregister:
	bus_unregister_notifier(line->parent->bus, &line->nb);
err_free_line:
	kfree(line);
err_put_desc:
	gpiod_put(desc);
	put_device(lk.parent);
err_unlock:
	mutex_unlock(&f->lock);
	return ret;
}

static long gts_detach(struct gts_file *f, u32 __user *arg)
{
	struct gts_line *line;
	u32 id;

	if (get_user(id, arg))
		return -EFAULT;
	if (id >= LIOTA_GPIOTS_MAX_LINES)
		return -EINVAL;
	mutex_lock(&f->lock);
	line = f->lines[id];
	f->lines[id] = NULL;
	mutex_unlock(&f->lock);
	if (!line)
		return -EINVAL;
	gts_line_free(line);
	gts_set_gone(f, id, false);
	return 0;
}

static long gts_setup(struct gts_file *f, void __user *arg)
{
	struct liota_gpiots_setup req;
	struct liota_gpiots_header *hdr;
	u32 capacity;
	void *ring;
	size_t size;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.padding || !req.data_pages ||
	    req.data_pages > LIOTA_GPIOTS_MAX_DATA_PAGES ||
	    !is_power_of_2(req.data_pages) ||
	    req.timeout_ms > LIOTA_GPIOTS_MAX_TIMEOUT_MS)
		return -EINVAL;
	capacity = req.data_pages * (PAGE_SIZE / sizeof(struct liota_gpiots_record));
	if (req.watermark > capacity)
		return -EINVAL;
	size = (1 + (size_t)req.data_pages) * PAGE_SIZE;

	mutex_lock(&f->lock);
	if (f->ring) {
		mutex_unlock(&f->lock);
		return -EBUSY;
	}
	ring = vmalloc_user(size);
	if (!ring) {
		mutex_unlock(&f->lock);
		return -ENOMEM;
	}
	hdr = ring;
	hdr->magic = LIOTA_GPIOTS_MAGIC;
	hdr->version = LIOTA_GPIOTS_VERSION;
	hdr->record_size = sizeof(struct liota_gpiots_record);
	hdr->capacity = capacity;
	hdr->data_offset = PAGE_SIZE;
	f->hdr = hdr;
	f->data = ring + PAGE_SIZE;
	f->capacity = capacity;
	f->watermark = req.watermark ? req.watermark : 1;
	f->timeout_ns = (u64)req.timeout_ms * NSEC_PER_MSEC;
	f->ring_size = size;
	f->ring = ring;
	mutex_unlock(&f->lock);
	return 0;
}

static long gts_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gts_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case LIOTA_GPIOTS_SETUP:
		return gts_setup(f, uarg);
	case LIOTA_GPIOTS_ATTACH:
		return gts_attach(f, uarg);
	case LIOTA_GPIOTS_DETACH:
		return gts_detach(f, uarg);
	default:
		return -ENOTTY;
	}
}

static __poll_t gts_poll(struct file *file, poll_table *wait)
{
	struct gts_file *f = file->private_data;
	__poll_t mask = 0;
	u64 avail;

	poll_wait(file, &f->wait, wait);
	mutex_lock(&f->lock);
	if (!f->ring) {
		mutex_unlock(&f->lock);
		return EPOLLERR;
	}
	mutex_unlock(&f->lock);
	/* Our own head, never the mapped copy the reader could write. */
	avail = READ_ONCE(f->head);
	/* The reader's tail, released after it consumed. */
	avail -= smp_load_acquire(&f->hdr->tail);
	if (avail && (avail >= f->watermark || READ_ONCE(f->expired)))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(f->gone))
		mask |= EPOLLPRI;
	return mask;
}

static int gts_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gts_file *f = file->private_data;
	int ret = -EINVAL;

	mutex_lock(&f->lock);
	if (f->ring && vma->vm_pgoff == 0 &&
	    vma->vm_end - vma->vm_start == f->ring_size)
		ret = remap_vmalloc_range(vma, f->ring, 0);
	mutex_unlock(&f->lock);
	return ret;
}

static int gts_open(struct inode *inode, struct file *file)
{
	struct gts_file *f;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	raw_spin_lock_init(&f->prod_lock);
	init_waitqueue_head(&f->wait);
	hrtimer_init(&f->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	f->timer.function = gts_timer;
	file->private_data = f;
	return nonseekable_open(inode, file);
}

/* The last reference to the file (and so to every mapping of the ring). */
static int gts_release(struct inode *inode, struct file *file)
{
	struct gts_file *f = file->private_data;
	u32 id;

	for (id = 0; id < LIOTA_GPIOTS_MAX_LINES; id++) {
		if (f->lines[id])
			gts_line_free(f->lines[id]);
	}
	/* No handler is left to start the timer again. */
	hrtimer_cancel(&f->timer);
	vfree(f->ring);
	kfree(f);
	return 0;
}

static const struct file_operations gts_fops = {
	.owner = THIS_MODULE,
	.open = gts_open,
	.release = gts_release,
	.unlocked_ioctl = gts_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.poll = gts_poll,
	.mmap = gts_mmap,
	.llseek = no_llseek,
};

static struct miscdevice gts_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "liota-gpiots",
	.fops = &gts_fops,
	.mode = 0600,
};
module_misc_device(gts_misc);

MODULE_DESCRIPTION("GPIO edges time-stamped in hard IRQ, in a ring mapped by userspace");
MODULE_AUTHOR("The liotad authors");
MODULE_LICENSE("GPL");
