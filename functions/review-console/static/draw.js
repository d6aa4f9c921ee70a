// Drag on a QA photo to fill the next empty missed-damage box of that photo, in photo pixels.
// Optional: the numbers can be typed; the form works without this script.
document.querySelectorAll("#qa .frame").forEach((frame) => {
  const photo = frame.dataset.photo;
  const scale = () => Number(frame.dataset.width) / frame.clientWidth;
  let start = null;
  let box = null;
  const at = (e) => {
    const r = frame.getBoundingClientRect();
    return [Math.max(0, Math.min(r.width, e.clientX - r.left)), Math.max(0, Math.min(r.height, e.clientY - r.top))];
  };
  frame.addEventListener("mousedown", (e) => {
    start = at(e);
    box = document.createElement("div");
    box.className = "box drawn";
    frame.appendChild(box);
    e.preventDefault();
  });
  frame.addEventListener("mousemove", (e) => {
    if (!start) return;
    const [x, y] = at(e);
    Object.assign(box.style, {
      left: Math.min(x, start[0]) + "px", top: Math.min(y, start[1]) + "px",
      width: Math.abs(x - start[0]) + "px", height: Math.abs(y - start[1]) + "px",
    });
  });
  window.addEventListener("mouseup", (e) => {
    if (!start) return;
    const [x, y] = at(e);
    const s = scale();
    const slot = Array.from(document.querySelectorAll(`fieldset.missed[data-photo="${photo}"]`))
      .find((f) => !f.querySelector("input[name$=_x1]").value);
    if (slot && Math.abs(x - start[0]) > 3 && Math.abs(y - start[1]) > 3) {
      const values = [Math.min(x, start[0]), Math.min(y, start[1]), Math.max(x, start[0]), Math.max(y, start[1])];
      ["x1", "y1", "x2", "y2"].forEach((c, i) => {
        slot.querySelector(`input[name$=_${c}]`).value = Math.round(values[i] * s);
      });
    } else {
      box.remove();
    }
    start = null;
  });
});
